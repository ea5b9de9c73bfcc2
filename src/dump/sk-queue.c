/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sk-queues.img: the data queued in the sockets of the tree, unix and inet,
 * one SkPacketEntry per datagram or run of stream bytes (id_for: the file id
 * of the socket that holds it), its bytes after it; for an inet datagram
 * its sender's address too (addr). Committed with files.img.
 */
#include "dump/internal.h"
#include "files/sock.h"
#include "image/image.h"
#include "sk-packet.pb-c.h"

int dump_sk_queue_write(struct dump_ctx *ctx, const struct sk_queue *q, uint32_t id)
{
	struct dump_files *f = ctx->files;
	size_t off = 0;
	int r;

	if (!f->sk_queues && (r = img_create(ctx->dir, IMG_SK_QUEUES, 0, &f->sk_queues)) < 0)
		return r;
	for (size_t i = 0; i < q->n; i++) {
		SkPacketEntry pe = SK_PACKET_ENTRY__INIT;

		pe.id_for = id;
		pe.length = q->lens[i];
		if (q->from) {
			pe.has_addr = true;
			pe.addr.data = (uint8_t *)&q->from[i];
			pe.addr.len = q->fromlens[i];
		}
		r = img_write_entry(f->sk_queues, &pe.base, q->data + off, q->lens[i]);
		if (r < 0)
			return r;
		off += q->lens[i];
	}
	return 0;
}
