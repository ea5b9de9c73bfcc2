/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x DIR sk: the sockets among the fds of each process (crit has no such
 * explorer): family, type, state, then "key value" details per family.
 * Names of families, types and states are those of crit's "sk" tables.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/explore.h"
#include "crit/render.h"
#include "proto/packet-sock.pb-c.h"
#include "proto/sk-inet.pb-c.h"
#include "proto/sk-netlink.pb-c.h"
#include "proto/sk-unix.pb-c.h"

#define NETLINK_CONNECTED 1

/* <linux/netlink.h> protocol numbers. */
static const char *const netlink_protos[] = {
	[0] = "ROUTE",          [2] = "USERSOCK",    [3] = "FIREWALL",        [4] = "SOCK_DIAG",
	[5] = "NFLOG",          [6] = "XFRM",        [7] = "SELINUX",         [8] = "ISCSI",
	[9] = "AUDIT",          [10] = "FIB_LOOKUP", [11] = "CONNECTOR",      [12] = "NETFILTER",
	[13] = "IP6_FW",        [14] = "DNRTMSG",    [15] = "KOBJECT_UEVENT", [16] = "GENERIC",
	[18] = "SCSITRANSPORT", [19] = "ECRYPTFS",   [20] = "RDMA",           [21] = "CRYPTO",
	[22] = "SMC",
};

/* The name of value in crit's "sk" table of field, or the number in buf. */
static const char *sk_name(const char *field, uint32_t value, char *buf, size_t size)
{
	const struct crit_dict_field *d = crit_dict_find("sk", field);
	const char *name = d ? crit_dict_name(d, value) : NULL;

	if (name)
		return name;
	snprintf(buf, size, "%" PRIu32, value);
	return buf;
}

/* type and state may be NULL: not applicable (text "-", left out of the JSON). */
static void sk_begin(struct explorer *x, uint32_t fd, uint32_t id, const char *family,
		     const char *type, const char *state)
{
	struct json_out *o = x->json;

	if (!o) {
		fprintf(x->out, "\t%7u: %-7s %-9s %-11s", fd, family, type ? type : "-",
			state ? state : "-");
		return;
	}
	json_obj_begin(o);
	json_key(o, "fd");
	json_u64(o, fd);
	json_key(o, "id");
	json_u64(o, id);
	json_key(o, "family");
	json_cstr(o, family);
	if (type) {
		json_key(o, "type");
		json_cstr(o, type);
	}
	if (state) {
		json_key(o, "state");
		json_cstr(o, state);
	}
}

static void sk_end(struct explorer *x)
{
	if (x->json)
		json_obj_end(x->json);
	else
		fputc('\n', x->out);
}

static void sk_num(struct explorer *x, const char *key, uint64_t v)
{
	if (x->json) {
		json_key(x->json, key);
		json_u64(x->json, v);
	} else {
		fprintf(x->out, " %s %" PRIu64, key, v);
	}
}

static void sk_str(struct explorer *x, const char *key, const char *s)
{
	if (x->json) {
		json_key(x->json, key);
		json_cstr(x->json, s);
	} else {
		fprintf(x->out, " %s %s", key, s);
	}
}

/* Text "key ADDR:PORT" ([ADDR]:PORT for IPv6); JSON "key": ADDR, "key_port": PORT. */
static void sk_addr(struct explorer *x, const char *key, const uint32_t *words, size_t n,
		    uint32_t port)
{
	char addr[INET6_ADDRSTRLEN] = "?", port_key[32];

	ipadd_format(words, n, addr, sizeof(addr));
	if (!x->json) {
		fprintf(x->out, n == 4 ? " %s [%s]:%u" : " %s %s:%u", key, addr, port);
		return;
	}
	json_key(x->json, key);
	json_cstr(x->json, addr);
	snprintf(port_key, sizeof(port_key), "%s_port", key);
	sk_num(x, port_key, port);
}

static void sk_shutdown(struct explorer *x, bool has, SkShutdown how)
{
	const ProtobufCEnumValue *ev =
		protobuf_c_enum_descriptor_get_value(&sk_shutdown__descriptor, how);

	if (has && how != SK_SHUTDOWN__NONE && ev)
		sk_str(x, "shutdown", ev->name);
}

static int unix_sk(struct explorer *x, uint32_t fd, const UnixSkEntry *u)
{
	char tb[16], sb[16];
	_cleanup_free_ char *name = NULL;
	size_t len = 0;
	int r;

	sk_begin(x, fd, u->id, "UNIX", sk_name("type", u->type, tb, sizeof(tb)),
		 sk_name("state", u->state, sb, sizeof(sb)));
	sk_num(x, "ino", u->ino);
	if (u->peer)
		sk_num(x, "peer", u->peer);
	if (u->name.len) {
		/* as decode and `x fds` show it: quoted-printable (an abstract name starts =00) */
		r = qp_encode(u->name.data, u->name.len, &name, &len);
		if (r < 0)
			return r;
		sk_str(x, "name", name);
	}
	if (u->has_deleted && u->deleted)
		sk_str(x, "deleted", "yes");
	sk_shutdown(x, u->has_shutdown, u->shutdown);
	sk_end(x);
	return 0;
}

static void inet_sk(struct explorer *x, uint32_t fd, const InetSkEntry *i)
{
	char fb[16], tb[16], sb[16], pb[16];
	bool dst = i->dst_port;

	for (size_t k = 0; k < i->n_dst_addr; k++)
		dst |= i->dst_addr[k] != 0;
	sk_begin(x, fd, i->id, sk_name("family", i->family, fb, sizeof(fb)),
		 sk_name("type", i->type, tb, sizeof(tb)),
		 sk_name("state", i->state, sb, sizeof(sb)));
	sk_num(x, "ino", i->ino);
	sk_str(x, "proto", sk_name("proto", i->proto, pb, sizeof(pb)));
	sk_addr(x, "src", i->src_addr, i->n_src_addr, i->src_port);
	/* an unconnected socket has no peer: no "dst 0.0.0.0:0" */
	if (dst)
		sk_addr(x, "dst", i->dst_addr, i->n_dst_addr, i->dst_port);
	if (i->ifname)
		sk_str(x, "dev", i->ifname);
	sk_shutdown(x, i->has_shutdown, i->shutdown);
	sk_end(x);
}

/* The multicast groups of a netlink socket: bit b of word w is group 32 * w + b + 1. */
static void netlink_groups(struct explorer *x, const NetlinkSkEntry *n)
{
	bool any = false;

	for (size_t w = 0; w < n->n_groups; w++)
		any |= n->groups[w] != 0;
	if (!any)
		return;
	if (x->json) {
		json_key(x->json, "groups");
		json_arr_begin(x->json);
	} else {
		fputs(" groups ", x->out);
	}
	for (size_t w = 0, first = 1; w < n->n_groups; w++)
		for (unsigned b = 0; b < 32; b++) {
			if (!(n->groups[w] & (1u << b)))
				continue;
			if (x->json)
				json_u64(x->json, 32 * w + b + 1);
			else
				fprintf(x->out, "%s%zu", first ? "" : ",", 32 * w + b + 1);
			first = 0;
		}
	if (x->json)
		json_arr_end(x->json);
}

static void netlink_sk(struct explorer *x, uint32_t fd, const NetlinkSkEntry *n)
{
	const char *proto =
		n->protocol < ELEMENTSOF(netlink_protos) ? netlink_protos[n->protocol] : NULL;
	char sb[16], pb[16];

	if (n->state == NETLINK_CONNECTED)
		snprintf(sb, sizeof(sb), "CONNECTED");
	else if (n->state == 0)
		snprintf(sb, sizeof(sb), "UNCONNECTED");
	else
		snprintf(sb, sizeof(sb), "%u", n->state);
	if (!proto)
		snprintf(pb, sizeof(pb), "%u", n->protocol), proto = pb;
	/* the image keeps no socket type for netlink sockets */
	sk_begin(x, fd, n->id, "NETLINK", NULL, sb);
	sk_num(x, "ino", n->ino);
	sk_str(x, "proto", proto);
	sk_num(x, "portid", n->portid);
	netlink_groups(x, n);
	if (n->dst_portid || n->dst_group) {
		sk_num(x, "dst_portid", n->dst_portid);
		sk_num(x, "dst_group", n->dst_group);
	}
	sk_end(x);
}

static void packet_sk(struct explorer *x, uint32_t fd, const PacketSockEntry *p)
{
	char tb[16], proto[16];

	/* protocol: the ethernet protocol in host order (ETH_P_ALL is 0x0003) */
	snprintf(proto, sizeof(proto), "0x%04x", p->protocol);
	sk_begin(x, fd, p->id, "PACKET", sk_name("type", p->type, tb, sizeof(tb)), NULL);
	sk_str(x, "proto", proto);
	sk_num(x, "ifindex", p->ifindex);
	sk_num(x, "version", p->version);
	sk_end(x);
}

/* The entry of a socket fd: the member of files.img, or the older per-kind image. */
static int sk_entry(struct explorer *x, const FdinfoEntry *fd, const ProtobufCMessage **ret)
{
	const FileEntry *fe;
	int r;

	r = explore_find_in_files(x, fd->id, &fe);
	if (r < 0)
		return r;
	*ret = NULL;
	switch (fd->type) {
	case FD_TYPES__UNIXSK:
		if (fe)
			*ret = fe->usk ? &fe->usk->base : NULL;
		else
			r = explore_find_in_image(x, &x->unixsks, IMG_UNIXSK, fd->id, ret);
		break;
	case FD_TYPES__INETSK:
		if (fe)
			*ret = fe->isk ? &fe->isk->base : NULL;
		else
			r = explore_find_in_image(x, &x->inetsks, IMG_INETSK, fd->id, ret);
		break;
	case FD_TYPES__NETLINKSK:
		if (fe)
			*ret = fe->nlsk ? &fe->nlsk->base : NULL;
		else
			r = explore_find_in_image(x, &x->netlinksks, IMG_NETLINK_SK, fd->id, ret);
		break;
	default:
		if (fe)
			*ret = fe->psk ? &fe->psk->base : NULL;
		else
			r = explore_find_in_image(x, &x->packetsks, IMG_PACKETSK, fd->id, ret);
	}
	return r;
}

static int sk_of_fd(struct explorer *x, const FdinfoEntry *fd)
{
	const ProtobufCMessage *m;
	int r;

	r = sk_entry(x, fd, &m);
	if (r < 0)
		return r;
	if (!m) {
		/* as `x fds` shows unix[?]: the fd is listed, its socket is not in the images */
		sk_begin(x, fd->fd, fd->id, explore_fd_type_name(fd->type), NULL, NULL);
		sk_str(x, "missing", "yes");
		sk_end(x);
		return 0;
	}
	switch (fd->type) {
	case FD_TYPES__UNIXSK:
		return unix_sk(x, fd->fd, (const UnixSkEntry *)m);
	case FD_TYPES__INETSK:
		inet_sk(x, fd->fd, (const InetSkEntry *)m);
		return 0;
	case FD_TYPES__NETLINKSK:
		netlink_sk(x, fd->fd, (const NetlinkSkEntry *)m);
		return 0;
	default:
		packet_sk(x, fd->fd, (const PacketSockEntry *)m);
		return 0;
	}
}

static bool is_socket(FdTypes type)
{
	return type == FD_TYPES__UNIXSK || type == FD_TYPES__INETSK ||
	       type == FD_TYPES__NETLINKSK || type == FD_TYPES__PACKETSK;
}

int explore_sk_of(struct explorer *x, const PstreeEntry *p)
{
	struct msgs fds = {};
	int r;

	r = explore_load_fds(x, p, &fds);
	if (r < 0)
		return r;
	explore_list_begin(x, p, "sockets");
	for (size_t i = 0; i < fds.n && r == 0; i++) {
		const FdinfoEntry *fd = (const FdinfoEntry *)fds.m[i];

		if (is_socket(fd->type))
			r = sk_of_fd(x, fd);
	}
	explore_list_end(x);
	msgs_clear(&fds);
	return r;
}
