/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit encode: {"magic": NAME, "entries": [...]} back into an image file.
 * Extra payloads come from each entry's "extra" as images.py writes them
 * (an absent or empty "extra" writes none).
 */
#include <fcntl.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/crit.h"
#include "crit/output.h"
#include "crit/pb-json.h"
#include "image/image.h"
#include "proto/ipc-msg.pb-c.h"

struct encoder {
	struct json2pb c;
	const struct img_type_desc *type;
	struct img_writer *w;
	const char *text; /* the JSON input, for line numbers */
	size_t len;
	const char *label;
};

static int report(struct encoder *e)
{
	unsigned line, col;

	json_line_col(e->text, e->len, e->c.err.offset, &line, &col);
	pr_err("%s: offset %zu (line %u, column %u): %s", e->label, e->c.err.offset, line, col,
	       e->c.err.what);
	return -EINVAL;
}

/* A growable byte buffer for extras. */
struct bytes {
	uint8_t *data;
	size_t len;
};

static int append(struct bytes *b, const void *data, size_t len)
{
	uint8_t *n = realloc(b->data, b->len + len + 1);

	if (!n)
		return -ENOMEM;
	memcpy(n + b->len, data, len);
	b->data = n;
	b->len += len;
	return 0;
}

static int base64_of(struct encoder *e, const struct jv *v, const char *what, struct bytes *out)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len, bad_at;
	int r;

	if (v->type != JV_STRING)
		return json2pb_fail(&e->c, v->offset, "%s: a base64 string expected, not %s", what,
				    jv_type_name(v->type));
	r = b64_decode(v->str.s, v->str.len, &data, &len, &bad_at);
	if (r == -EINVAL)
		return json2pb_fail(&e->c, v->offset, "%s: invalid base64 (character %zu)", what,
				    bad_at);
	if (r < 0)
		return r;
	return append(out, data, len);
}

static int tcp_queues(struct encoder *e, const struct jv *v, struct bytes *out)
{
	const struct jv *inq = jv_get(v, "inq"), *outq = jv_get(v, "outq");
	int r;

	if (v->type != JV_OBJECT || !inq || !outq || v->obj.n != 2)
		return json2pb_fail(&e->c, v->offset,
				    "extra: an object with \"inq\" and \"outq\" expected");
	r = base64_of(e, inq, "extra.inq", out);
	if (r < 0)
		return r;
	return base64_of(e, outq, "extra.outq", out);
}

static int sem_values(struct encoder *e, const struct jv *v, struct bytes *out)
{
	if (v->type != JV_ARRAY)
		return json2pb_fail(&e->c, v->offset, "extra: a list of semaphore values expected");
	for (size_t i = 0; i < v->arr.n; i++) {
		const struct jv *item = &v->arr.items[i];
		bool negative;
		uint64_t val;
		uint16_t u16;
		int r;

		if (item->type != JV_NUMBER || !item->num.integer ||
		    crit_parse_pyint(item->num.text, item->num.len, &negative, &val) < 0 ||
		    (negative && val) || val > UINT16_MAX)
			return json2pb_fail(&e->c, item->offset,
					    "extra: a semaphore value (0 to 65535) expected");
		u16 = (uint16_t)val;
		r = append(out, &u16, sizeof(u16));
		if (r < 0)
			return r;
	}
	return 0;
}

/* [message, base64 data, message, base64 data ...] */
static int ipc_msgs(struct encoder *e, const struct jv *v, struct bytes *out)
{
	if (v->type != JV_ARRAY || v->arr.n % 2)
		return json2pb_fail(&e->c, v->offset,
				    "extra: a list alternating messages and their data expected");
	for (size_t i = 0; i < v->arr.n; i += 2) {
		_cleanup_free_ uint8_t *data = NULL;
		struct bytes d = {};
		ProtobufCMessage *m;
		int r;

		r = json2pb_message(&e->c, &v->arr.items[i], &ipc_msg__descriptor, NULL, &m);
		if (r < 0)
			return r;
		r = base64_of(e, &v->arr.items[i + 1], "extra", &d);
		data = d.data;
		if (r == 0 && ((IpcMsg *)m)->msize != d.len)
			r = json2pb_fail(&e->c, v->arr.items[i + 1].offset,
					 "extra: %zu bytes of data, msize says %u", d.len,
					 ((IpcMsg *)m)->msize);
		if (r == 0)
			r = img_ipc_msg_append(&out->data, &out->len, m, d.data, d.len);
		protobuf_c_message_free_unpacked(m, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int extra_of(struct encoder *e, const struct jv *v, struct bytes *out)
{
	switch (e->type->extra) {
	case IMG_EXTRA_NONE:
		return json2pb_fail(&e->c, v->offset, "a %s entry has no extra payload",
				    e->type->name);
	case IMG_EXTRA_TCP_STREAM:
		return tcp_queues(e, v, out);
	case IMG_EXTRA_IPC_SEM:
		return sem_values(e, v, out);
	case IMG_EXTRA_IPC_MSG:
		return ipc_msgs(e, v, out);
	default:
		return base64_of(e, v, "extra", out);
	}
}

/* images.py writes an extra only when it is there and not empty. */
static bool has_extra(const struct jv *v)
{
	switch (v->type) {
	case JV_NULL:
		return false;
	case JV_BOOL:
		return v->b;
	case JV_STRING:
		return v->str.len > 0;
	case JV_ARRAY:
		return v->arr.n > 0;
	case JV_OBJECT:
		return v->obj.n > 0;
	case JV_NUMBER:
		return true;
	}
	return true;
}

static int encode_entry(struct encoder *e, unsigned index, const struct jv *entry)
{
	const ProtobufCMessageDescriptor *desc = img_entry_desc(e->type, index);
	const struct jv *extra = jv_get(entry, "extra");
	struct bytes x = {};
	ProtobufCMessage *msg;
	int r;

	if (!desc)
		return json2pb_fail(&e->c, entry->offset, "entry %u: not expected in a %s image",
				    index, e->type->name);
	r = json2pb_message(&e->c, entry, desc, "extra", &msg);
	if (r < 0)
		return r;
	if (extra && has_extra(extra))
		r = extra_of(e, extra, &x);
	if (r == 0) {
		r = img_write_entry(e->w, msg, x.data, x.len);
		/* the writer logged why; say which entry of the JSON it was */
		if (r < 0)
			r = json2pb_fail(&e->c, entry->offset, "entry %u cannot be written", index);
	}
	free(x.data);
	protobuf_c_message_free_unpacked(msg, NULL);
	return r;
}

static int open_writer(struct encoder *e, const char *out_path, int *ret_fd)
{
	*ret_fd = -1;
	if (crit_out_is_replaceable(out_path))
		return img_create_path(out_path, e->type->type, &e->w);
	if (!out_path || streq(out_path, "-"))
		return img_create_fd(STDOUT_FILENO, "<stdout>", e->type->type, &e->w);
	*ret_fd = open(out_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (*ret_fd < 0) {
		int r = negative_errno();

		pr_perror("cannot open %s", out_path);
		return r;
	}
	return img_create_fd(*ret_fd, out_path, e->type->type, &e->w);
}

static int check_document(struct encoder *e, const struct jv *root, const struct jv **ret_entries)
{
	const struct jv *magic = jv_get(root, "magic"), *entries = jv_get(root, "entries");

	if (root->type != JV_OBJECT)
		return json2pb_fail(&e->c, root->offset,
				    "an object with \"magic\" and \"entries\" expected");
	if (!magic || magic->type != JV_STRING)
		return json2pb_fail(&e->c, magic ? magic->offset : root->offset,
				    "\"magic\" (the image type name) expected");
	e->type = img_type_by_name(magic->str.s);
	if (!e->type || e->type->layout == IMG_LAYOUT_RAW)
		return json2pb_fail(&e->c, magic->offset, "unknown image magic \"%s\"",
				    magic->str.s);
	if (!entries || entries->type != JV_ARRAY)
		return json2pb_fail(&e->c, entries ? entries->offset : root->offset,
				    "\"entries\" (an array) expected");
	for (size_t i = 0; i < root->obj.n; i++) {
		const struct jv_member *m = &root->obj.members[i];

		if (!streq(m->key, "magic") && !streq(m->key, "entries"))
			return json2pb_fail(&e->c, m->key_offset, "unexpected key \"%s\"", m->key);
		if (jv_get(root, m->key) != &m->value)
			return json2pb_fail(&e->c, m->key_offset, "\"%s\" given twice", m->key);
	}
	*ret_entries = entries;
	return 0;
}

int crit_encode_mem(const char *json, size_t len, const char *label, const char *out_path)
{
	struct encoder e = {.text = json, .len = len, .label = label};
	_cleanup_json_doc_ struct json_doc *doc = NULL;
	_cleanup_close_ int fd = -1;
	struct json_error jerr;
	const struct jv *entries = NULL;
	int r;

	r = json_parse(json, len, &doc, &jerr);
	if (r == -EINVAL) {
		e.c.err.offset = jerr.offset;
		snprintf(e.c.err.what, sizeof(e.c.err.what), "invalid JSON: %s", jerr.what);
		return report(&e);
	}
	if (r < 0)
		return r;
	r = crit_render_new(&e.c.render);
	if (r < 0)
		return r;
	r = check_document(&e, json_doc_root(doc), &entries);
	if (r == 0)
		r = open_writer(&e, out_path, &fd);
	for (size_t i = 0; r == 0 && i < entries->arr.n; i++)
		r = encode_entry(&e, i, &entries->arr.items[i]);
	if (r == -EINVAL)
		report(&e);
	if (r == 0)
		r = img_writer_commit(TAKE_PTR(e.w));
	if (e.w)
		img_writer_free(e.w);
	crit_render_free(e.c.render);
	return r;
}

static int read_input(const char *in_path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!in_path || streq(in_path, "-")) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(in_path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		int r = negative_errno();

		pr_perror("cannot open %s", in_path ? in_path : "<stdin>");
		return r;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();

			pr_perror("cannot read %s", in_path ? in_path : "<stdin>");
			return r;
		}
		if (n == 0)
			break;
		len += n;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int crit_encode(const char *in_path, const char *out_path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_input(in_path, &buf, &len);
	if (r < 0)
		return r;
	return crit_encode_mem(buf, len, !in_path || streq(in_path, "-") ? "<stdin>" : in_path,
			       out_path);
}
