/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * protobuf-c message → crit JSON, following pycriu's pb2dict(): fields in
 * field-number order, only those that are set; integers as numbers, bytes
 * as base64, enums by name, repeated fields as lists. In pretty mode,
 * integers of (criu).hex fields and of everything under them are "0x..."
 * strings, then (criu).dev, (criu).flags and (criu).dict fields get their
 * text forms, and (criu).ipadd lists become one address string. Those
 * forms and enum names are plain ASCII: they are written without escaping.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/pb-field.h"
#include "crit/pb-json.h"

int pb2json_base64(struct json_out *o, const uint8_t *data, size_t len)
{
	_cleanup_free_ char *text = NULL;
	size_t text_len;
	int r;

	r = b64_encode_lines(data, len, &text, &text_len);
	if (r < 0)
		return r;
	json_str(o, text, text_len);
	return 0;
}

static int emit_bytes(struct pb2json *c, const struct crit_field_opts *opts,
		      const ProtobufCBinaryData *b)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (!opts || opts->conv == CRIT_CONV_BASE64)
		return pb2json_base64(c->out, b->data, b->len);
	r = qp_encode(b->data, b->len, &text, &len);
	if (r < 0)
		return r;
	json_str(c->out, text, len);
	return 0;
}

/* Python's "0x%x" % v: a negative value gives "0x-5". */
static void emit_hex(struct json_out *o, uint64_t v, bool negative)
{
	static const char digits[] = "0123456789abcdef";
	char b[24], *p = b + sizeof(b);

	if (negative)
		v = -v;
	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	if (negative)
		*--p = '-';
	*--p = 'x';
	*--p = '0';
	json_ascii(o, p, b + sizeof(b) - p);
}

static void emit_plain_int(struct json_out *o, uint64_t v, bool negative)
{
	if (negative)
		json_i64(o, (int64_t)v);
	else
		json_u64(o, v);
}

static int emit_int(struct pb2json *c, const ProtobufCFieldDescriptor *f,
		    const struct crit_field_opts *opts, bool hex, const void *p)
{
	uint64_t v = pb_get_int(f->type, p);
	bool negative = pb_type_is_signed(f->type) && (int64_t)v < 0;
	char buf[512];
	const char *name;
	int r;

	if (!c->pretty) {
		emit_plain_int(c->out, v, negative);
		return 0;
	}
	if (hex) {
		emit_hex(c->out, v, negative);
	} else if (opts && (opts->bits & CRIT_R_DEV)) {
		crit_dev_format(v, opts->bits & CRIT_R_ODEV, buf, sizeof(buf));
		json_ascii(c->out, buf, strlen(buf));
	} else if (opts && opts->flags) {
		r = crit_flags_format(opts->flags, v, buf, sizeof(buf));
		if (r < 0)
			return r;
		json_ascii(c->out, buf, r);
	} else if (opts && opts->flags_hex) {
		emit_hex(c->out, v, negative);
	} else if (opts && opts->dict && (name = crit_dict_name(opts->dict, (int64_t)v))) {
		json_ascii(c->out, name, strlen(name));
	} else {
		emit_plain_int(c->out, v, negative);
	}
	return 0;
}

static int emit_value(struct pb2json *c, const ProtobufCFieldDescriptor *f,
		      const struct crit_field_opts *opts, bool hex, const void *p)
{
	const ProtobufCEnumValue *ev;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return pb2json_message(c, *(ProtobufCMessage *const *)p, hex);
	case PROTOBUF_C_TYPE_BYTES:
		return emit_bytes(c, opts, p);
	case PROTOBUF_C_TYPE_STRING:
		json_cstr(c->out, *(char *const *)p);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		json_bool(c->out, *(const protobuf_c_boolean *)p);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int32_t *)p);
		/* crit cannot show a value its schema lacks; the number keeps it */
		if (ev)
			json_ascii(c->out, ev->name, strlen(ev->name));
		else
			json_i64(c->out, *(const int32_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return -EOPNOTSUPP;
	default:
		return emit_int(c, f, opts, hex, p);
	}
}

/* pb2dict: a list of one uint32 is an IPv4 address, of four an IPv6 one. */
static bool emit_ipadd(struct json_out *o, const uint32_t *words, size_t n)
{
	char text[INET6_ADDRSTRLEN];

	if (ipadd_format(words, n, text, sizeof(text)) < 0)
		return false;
	json_arr_begin(o);
	json_cstr(o, text);
	json_arr_end(o);
	return true;
}

static int emit_field(struct pb2json *c, const ProtobufCMessage *msg,
		      const ProtobufCFieldDescriptor *f, const struct crit_field_opts *opts,
		      bool is_hex)
{
	bool hex = is_hex || (opts && (opts->bits & CRIT_R_HEX));
	const char *values;
	size_t n, size;
	int r;

	if (!pb_field_present(msg, f, &n))
		return 0;
	json_ident_key(c->out, f->name);
	if (f->label != PROTOBUF_C_LABEL_REPEATED)
		return emit_value(c, f, opts, hex, pb_member(msg, f));

	values = *(const char *const *)pb_member(msg, f);
	if (c->pretty && opts && (opts->bits & CRIT_R_IPADD) && pb_value_size(f->type) == 4 &&
	    pb_type_is_integer(f->type) && emit_ipadd(c->out, (const uint32_t *)values, n))
		return 0;
	size = pb_value_size(f->type);
	json_arr_begin(c->out);
	for (size_t i = 0; i < n; i++) {
		r = emit_value(c, f, opts, hex, values + i * size);
		if (r < 0)
			return r;
	}
	json_arr_end(c->out);
	return 0;
}

int pb2json_fields(struct pb2json *c, const ProtobufCMessage *msg, bool is_hex)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const struct crit_field_opts *opts;
	int r;

	r = crit_render_lookup(c->render, d, &opts);
	if (r < 0)
		return r;
	/* protoc-c lists the fields by number, the order of ListFields() */
	for (unsigned i = 0; i < d->n_fields; i++) {
		r = emit_field(c, msg, &d->fields[i], opts ? &opts[i] : NULL, is_hex);
		if (r < 0)
			return r;
	}
	return c->out->error;
}

int pb2json_message(struct pb2json *c, const ProtobufCMessage *msg, bool is_hex)
{
	int r;

	json_obj_begin(c->out);
	r = pb2json_fields(c, msg, is_hex);
	json_obj_end(c->out);
	return r;
}
