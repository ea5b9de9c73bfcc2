/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit decode, show and info: an image file as {"magic": NAME, "entries":
 * [...]}, with each entry's extra payload in "extra" as pycriu's
 * images.py puts it there.
 */
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/crit.h"
#include "crit/output.h"
#include "crit/pb-json.h"
#include "image/image.h"
#include "proto/ghost-file.pb-c.h"
#include "proto/ipc-sem.pb-c.h"
#include "proto/tcp-stream.pb-c.h"

/* images.py's human_readable(), for `show --nopl`. */
static void emit_payload_size(struct json_out *o, uint64_t size)
{
	static const char *const units[] = {"", "K", "M", "G", "T", "P", "E", "Z"};
	double num = (double)size;
	char b[64];

	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		if (num < 1024.0) {
			if ((double)(uint64_t)num == num)
				snprintf(b, sizeof(b), "... <%.0f%sB>", num, units[i]);
			else
				snprintf(b, sizeof(b), "... <%.1f%sB>", num, units[i]);
			json_cstr(o, b);
			return;
		}
		num /= 1024.0;
	}
	snprintf(b, sizeof(b), "... <%.1fYB>", num);
	json_cstr(o, b);
}

static int emit_ipc_sem(struct json_out *o, const struct img_entry *e)
{
	const IpcSemEntry *sem = (const IpcSemEntry *)e->msg;

	json_arr_begin(o);
	for (size_t i = 0; i < sem->nsems && 2 * i + 1 < e->extra_len; i++) {
		uint16_t v;

		memcpy(&v, e->extra + 2 * i, sizeof(v));
		json_u64(o, v);
	}
	json_arr_end(o);
	return 0;
}

/* A list alternating each message (never pretty, as images.py does) and its data. */
static int emit_ipc_msgs(struct pb2json *c, const struct img_entry *e, uint64_t *ret_size)
{
	struct pb2json plain = {.out = c->out, .render = c->render, .pretty = false};
	size_t cursor = 0;
	uint64_t size = 0;
	int r;

	if (!ret_size)
		json_arr_begin(c->out);
	for (;;) {
		ProtobufCMessage *m;
		const uint8_t *data;
		size_t len;

		r = img_ipc_msg_next(e, &cursor, &m, &data, &len);
		if (r <= 0)
			break;
		size += protobuf_c_message_get_packed_size(m) + len;
		if (!ret_size) {
			r = pb2json_message(&plain, m, false);
			if (r == 0)
				r = pb2json_base64(c->out, data, len);
		}
		img_msg_free(m);
		if (r < 0)
			break;
	}
	if (!ret_size)
		json_arr_end(c->out);
	else
		*ret_size = size;
	return r;
}

/* The size `show --nopl` reports, as the skip() of each extra handler of images.py. */
static int payload_size(struct pb2json *c, const struct img_type_desc *t, const struct img_entry *e,
			uint64_t *ret_size)
{
	switch (t->extra) {
	case IMG_EXTRA_IPC_MSG:
		return emit_ipc_msgs(c, e, ret_size);
	case IMG_EXTRA_IPC_SEM:
		*ret_size = 2 * (uint64_t)((const IpcSemEntry *)e->msg)->nsems;
		return 0;
	default:
		*ret_size = e->extra_len;
		return 0;
	}
}

static int emit_extra(struct pb2json *c, const struct img_type_desc *t, const struct img_entry *e,
		      bool nopl)
{
	const TcpStreamEntry *tcp;
	uint64_t size;
	size_t inq;
	int r;

	if (t->extra == IMG_EXTRA_NONE)
		return 0;
	if (t->extra == IMG_EXTRA_GHOST) {
		/* the file entry has an extra unless chunks follow; no extra at all with --nopl */
		if (nopl || (e->index == 0 && ((const GhostFileEntry *)e->msg)->chunks))
			return 0;
		json_key(c->out, "extra");
		return pb2json_base64(c->out, e->extra, e->extra_len);
	}
	json_key(c->out, "extra");
	if (nopl) {
		r = payload_size(c, t, e, &size);
		if (r < 0)
			return r;
		emit_payload_size(c->out, size);
		return 0;
	}
	switch (t->extra) {
	case IMG_EXTRA_TCP_STREAM:
		tcp = (const TcpStreamEntry *)e->msg;
		inq = MIN((size_t)tcp->inq_len, e->extra_len);
		json_obj_begin(c->out);
		json_key(c->out, "inq");
		r = pb2json_base64(c->out, e->extra, inq);
		if (r == 0) {
			json_key(c->out, "outq");
			r = pb2json_base64(c->out, e->extra + inq, e->extra_len - inq);
		}
		json_obj_end(c->out);
		return r;
	case IMG_EXTRA_IPC_SEM:
		return emit_ipc_sem(c->out, e);
	case IMG_EXTRA_IPC_MSG:
		return emit_ipc_msgs(c, e, NULL);
	default:
		return pb2json_base64(c->out, e->extra, e->extra_len);
	}
}

static int decode_entry(struct pb2json *c, const struct img_type_desc *t, const struct img_entry *e,
			bool nopl)
{
	int r;

	json_obj_begin(c->out);
	r = pb2json_fields(c, e->msg, false);
	if (r == 0)
		r = emit_extra(c, t, e, nopl);
	json_obj_end(c->out);
	return r;
}

int crit_decode_image(struct img_file *f, struct json_out *o, const struct crit_decode_opts *opts)
{
	const struct img_type_desc *t = img_file_type(f);
	struct pb2json c = {.out = o, .pretty = opts->pretty};
	int r;

	r = crit_render_new(&c.render);
	if (r < 0)
		return r;
	json_obj_begin(o);
	json_key(o, "magic");
	json_cstr(o, t->name);
	json_key(o, "entries");
	json_arr_begin(o);
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		if (r <= 0)
			break;
		r = decode_entry(&c, t, &e, opts->nopl);
		if (r == -EOPNOTSUPP)
			pr_err("%s: entry %u at offset 0x%llx: a %s field crit cannot show",
			       img_file_label(f), e.index, (unsigned long long)e.offset,
			       e.desc->name);
		if (r < 0)
			break;
		if (o->error)
			break;
	}
	json_arr_end(o);
	json_obj_end(o);
	crit_render_free(c.render);
	return r < 0 ? r : o->error;
}

static bool is_stdio(const char *path)
{
	return !path || streq(path, "-");
}

static int open_input(const char *in_path, struct img_file **ret)
{
	int r;

	if (is_stdio(in_path))
		return img_open_fd(STDIN_FILENO, "<stdin>", ret);
	r = img_open_path(in_path, ret);
	if (r == -ENOENT)
		pr_err("cannot open %s: no such file", in_path);
	return r;
}

/* crit cannot decode a raw image either, but says why. */
static bool is_raw_image(const char *path)
{
	const char *base = strrchr(path, '/');
	const struct img_type_desc *t = img_type_by_file_name(base ? base + 1 : path, NULL);

	if (!t || t->layout != IMG_LAYOUT_RAW)
		return false;
	pr_err("%s: a raw image (page contents, no magic, no entries): nothing to decode", path);
	return true;
}

int crit_decode(const char *in_path, const char *out_path, const struct crit_decode_opts *o)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct crit_out out;
	struct json_out jo;
	int r;

	if (!is_stdio(in_path) && is_raw_image(in_path))
		return -EINVAL;
	r = open_input(in_path, &f);
	if (r < 0)
		return r;
	/* a pagemap gives about 6 bytes of JSON per byte of image, 11 in pretty mode */
	r = json_out_init(&jo, o->pretty,
			  MIN(img_file_size(f), (uint64_t)64 << 20) * (o->pretty ? 12 : 7));
	if (r < 0)
		return r;
	r = crit_decode_image(f, &jo, o);
	if (r == -ENOMEM)
		pr_err("%s: out of memory", img_file_label(f));
	/* crit ends the document with a newline on stdout only */
	if (r == 0 && is_stdio(out_path))
		json_raw(&jo, "\n", 1);
	if (r == 0)
		r = jo.error;
	if (r == 0)
		r = crit_out_open(out_path, &out);
	if (r == 0) {
		r = crit_out_write(&out, jo.buf, jo.len);
		if (r == 0)
			r = crit_out_commit(&out);
		else
			crit_out_abort(&out);
	}
	json_out_fini(&jo);
	return r;
}

int crit_info(const char *in_path, FILE *out)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	unsigned count;
	int r;

	r = open_input(in_path, &f);
	if (r < 0)
		return r;
	r = img_count(f, &count);
	if (r < 0)
		return r;
	/* crit does not count the pagemap head */
	if (img_file_type(f)->layout == IMG_LAYOUT_PAGEMAP && count)
		count--;
	fprintf(out, "{\n    \"magic\": \"%s\",\n    \"count\": %u\n}\n", img_file_type(f)->name,
		count);
	return 0;
}
