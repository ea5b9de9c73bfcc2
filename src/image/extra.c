/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Extra payloads: the raw bytes some entries carry after their message, and
 * how their size is read from the message (as crit's extra handlers do).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/internal.h"
#include "image/pb-msgs.h"

int pb_field_u64(const ProtobufCMessage *msg, const char *name, uint64_t *ret)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	const char *base = (const char *)msg;

	if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
		return -ENOENT;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
		*ret = 0;
		return 0;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*ret = *(const uint32_t *)(base + f->offset);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*ret = *(const uint64_t *)(base + f->offset);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*ret = *(const protobuf_c_boolean *)(base + f->offset) ? 1 : 0;
		return 0;
	default:
		return -ENOENT;
	}
}

/* Sum of unsigned fields; the schema is ours, so a missing field is a bug. */
static uint64_t field(const ProtobufCMessage *msg, const char *name)
{
	uint64_t v = 0;

	if (pb_field_u64(msg, name, &v) < 0)
		abort();
	return v;
}

/* Saturates, so that a huge announced size stays huge and is refused. */
static uint64_t round_up(uint64_t x, uint64_t a)
{
	if (x > UINT64_MAX - a)
		return UINT64_MAX;
	return (x + a - 1) / a * a;
}

/* One message of an IPCNS_MSG payload: u32 length, IpcMsg, msize bytes padded to 8. */
static int ipc_msg_span(const uint8_t *data, uint64_t avail, ProtobufCMessage **ret_msg,
			uint64_t *ret_hdr, uint64_t *ret_msize, uint64_t *ret_total,
			const char **why)
{
	ProtobufCMessage *m;
	uint64_t len, msize, total;

	if (avail < 4) {
		*why = "queued message: truncated length prefix";
		return -EBADMSG;
	}
	len = get_le32(data);
	if (len > avail - 4) {
		*why = "queued message: length beyond the end of the file";
		return -EBADMSG;
	}
	m = protobuf_c_message_unpack(&ipc_msg__descriptor, NULL, len, data + 4);
	if (!m) {
		*why = "queued message: cannot decode ipc_msg";
		return -EBADMSG;
	}
	msize = field(m, "msize");
	total = 4 + len + round_up(msize, 8);
	if (total > avail) {
		protobuf_c_message_free_unpacked(m, NULL);
		*why = "queued message: data beyond the end of the file";
		return -EBADMSG;
	}
	*ret_hdr = 4 + len;
	*ret_msize = msize;
	*ret_total = total;
	if (ret_msg)
		*ret_msg = m;
	else
		protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static int ipc_msgs_span(const ProtobufCMessage *msg, const uint8_t *data, uint64_t avail,
			 uint64_t *ret_len, const char **why)
{
	uint64_t qnum = field(msg, "qnum"), off = 0;

	for (uint64_t i = 0; i < qnum; i++) {
		uint64_t hdr, msize, total;
		int r = ipc_msg_span(data + off, avail - off, NULL, &hdr, &msize, &total, why);

		if (r < 0)
			return r;
		off += total;
	}
	*ret_len = off;
	return 0;
}

int extra_span_of(const struct img_type_desc *t, const ProtobufCMessage *msg, const uint8_t *data,
		  uint64_t avail, struct extra_span *ret, const char **why)
{
	uint64_t len = 0;
	int r;

	switch (t->extra) {
	case IMG_EXTRA_NONE:
		break;
	case IMG_EXTRA_PIPE_DATA:
		len = field(msg, "bytes");
		break;
	case IMG_EXTRA_SK_QUEUE:
		len = field(msg, "length");
		break;
	case IMG_EXTRA_TCP_STREAM:
		len = field(msg, "inq_len") + field(msg, "outq_len");
		break;
	case IMG_EXTRA_BPFMAP_DATA:
		len = field(msg, "keys_bytes") + field(msg, "values_bytes");
		break;
	case IMG_EXTRA_IPC_SHM:
		/* Since CRIU 3.x the contents go to pagemap-shmem images instead. */
		if (!field(msg, "in_pagemaps"))
			len = field(msg, "size");
		ret->len = len;
		ret->padded = round_up(len, 4);
		return 0;
	case IMG_EXTRA_IPC_SEM:
		len = 2 * field(msg, "nsems");
		ret->len = len;
		ret->padded = round_up(len, 8);
		return 0;
	case IMG_EXTRA_IPC_MSG:
		r = ipc_msgs_span(msg, data, avail, &len, why);
		if (r < 0)
			return r;
		break;
	case IMG_EXTRA_GHOST:
		if (msg->descriptor == t->first_msg)
			len = field(msg, "chunks") ? 0 : avail;
		else
			len = field(msg, "len");
		break;
	}
	ret->len = len;
	ret->padded = len;
	return 0;
}

int img_ipc_msg_next(const struct img_entry *e, size_t *cursor, struct ProtobufCMessage **ret_msg,
		     const uint8_t **ret_data, size_t *ret_len)
{
	ProtobufCMessage *m;
	uint64_t hdr, msize, total;
	const char *why = NULL;
	int r;

	if (!e->msg || e->msg->descriptor != &ipc_msg_entry__descriptor)
		return -EINVAL;
	if (*cursor >= e->extra_len)
		return 0;
	r = ipc_msg_span(e->extra + *cursor, e->extra_len - *cursor, &m, &hdr, &msize, &total,
			 &why);
	if (r < 0) {
		pr_err("entry %u at offset 0x%llx: %s", e->index, (unsigned long long)e->offset,
		       why);
		return r;
	}
	*ret_msg = m;
	*ret_data = e->extra + *cursor + hdr;
	*ret_len = msize;
	*cursor += total;
	return 1;
}

int img_ipc_msg_append(uint8_t **buf, size_t *len, const struct ProtobufCMessage *msg,
		       const void *data, size_t data_len)
{
	uint64_t msize;
	size_t plen, total;
	uint8_t *nb;

	if (msg->descriptor != &ipc_msg__descriptor || pb_field_u64(msg, "msize", &msize) < 0 ||
	    msize != data_len)
		return -EINVAL;
	plen = protobuf_c_message_get_packed_size(msg);
	if (plen > UINT32_MAX)
		return -E2BIG;
	total = 4 + plen + round_up(data_len, 8);
	nb = realloc(*buf, *len + total);
	if (!nb)
		return -ENOMEM;
	put_le32(nb + *len, plen);
	protobuf_c_message_pack(msg, nb + *len + 4);
	memcpy(nb + *len + 4 + plen, data, data_len);
	memset(nb + *len + 4 + plen + data_len, 0, total - 4 - plen - data_len);
	*buf = nb;
	*len += total;
	return 0;
}
