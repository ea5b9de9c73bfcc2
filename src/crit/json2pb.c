/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit JSON → protobuf-c message, following pycriu's dict2pb(): every text
 * form that decode writes is read back (hex strings, "A | B" flags,
 * "major:minor" devices, dict names, addresses, base64 and quoted-printable
 * bytes), and integers may be given as strings in Python's int(x, 0)
 * syntax. Unlike dict2pb, unknown keys, missing required fields and values
 * that do not fit are errors that name the field and the byte offset.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/pb-field.h"
#include "crit/pb-json.h"

int json2pb_fail(struct json2pb *c, size_t offset, const char *fmt, ...)
{
	va_list ap;

	c->err.offset = offset;
	va_start(ap, fmt);
	vsnprintf(c->err.what, sizeof(c->err.what), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "0x-5" is how pretty mode shows a negative number in a hex field. */
static int parse_int_text(const char *s, size_t len, bool *ret_negative, uint64_t *ret_magnitude)
{
	if (len > 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2] == '-') {
		char tmp[32];
		int r;

		if (len - 1 >= sizeof(tmp))
			return -ERANGE;
		/* "-0x5" */
		tmp[0] = '-';
		tmp[1] = '0';
		tmp[2] = s[1];
		memcpy(tmp + 3, s + 3, len - 3);
		r = crit_parse_pyint(tmp, len, ret_negative, ret_magnitude);
		return r;
	}
	return crit_parse_pyint(s, len, ret_negative, ret_magnitude);
}

/* Check that (negative, magnitude) fits the field's type; store it as uint64. */
static int fit_int(struct json2pb *c, const ProtobufCFieldDescriptor *f, const struct jv *v,
		   bool negative, uint64_t mag, uint64_t *ret)
{
	bool is_signed = pb_type_is_signed(f->type);
	bool wide = pb_value_size(f->type) == 8;
	uint64_t max_pos =
		is_signed ? (wide ? INT64_MAX : INT32_MAX) : (wide ? UINT64_MAX : UINT32_MAX);
	uint64_t max_neg =
		is_signed ? (wide ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT32_MAX + 1) : 0;

	if (mag == 0)
		negative = false;
	if ((negative && mag > max_neg) || (!negative && mag > max_pos))
		return json2pb_fail(
			c, v->offset, "field '%s': %s%" PRIu64 " is out of range for %s", f->name,
			negative ? "-" : "", mag,
			is_signed ? (wide ? "int64" : "int32") : (wide ? "uint64" : "uint32"));
	*ret = negative ? -mag : mag;
	return 0;
}

static int int_from_string(struct json2pb *c, const ProtobufCFieldDescriptor *f,
			   const struct crit_field_opts *opts, const struct jv *v,
			   bool *ret_negative, uint64_t *ret_mag)
{
	const char *s = v->str.s;
	size_t len = v->str.len;
	int64_t dv;
	int r;

	*ret_negative = false;
	if (opts && (opts->bits & CRIT_R_DEV)) {
		r = crit_dev_parse(s, len, opts->bits & CRIT_R_ODEV, ret_mag);
		if (r < 0)
			return json2pb_fail(c, v->offset,
					    "field '%s': \"%s\" is not a device (major:minor)",
					    f->name, s);
		return 0;
	}
	if (opts && opts->flags) {
		r = crit_flags_parse(opts->flags, s, len, ret_mag);
		if (r < 0)
			return json2pb_fail(c, v->offset,
					    "field '%s': \"%s\" is not a combination of %s flags",
					    f->name, s, opts->flags->name);
		return 0;
	}
	if (opts && opts->dict && crit_dict_value(opts->dict, s, len, &dv)) {
		*ret_negative = dv < 0;
		*ret_mag = dv < 0 ? -(uint64_t)dv : (uint64_t)dv;
		return 0;
	}
	r = parse_int_text(s, len, ret_negative, ret_mag);
	if (r == -ERANGE)
		return json2pb_fail(c, v->offset, "field '%s': \"%s\" is out of range", f->name, s);
	if (r < 0)
		return json2pb_fail(c, v->offset, "field '%s': \"%s\" is not an integer", f->name,
				    s);
	return 0;
}

static int set_int(struct json2pb *c, const ProtobufCFieldDescriptor *f,
		   const struct crit_field_opts *opts, const struct jv *v, void *p)
{
	bool negative;
	uint64_t mag, u = 0;
	int r;

	if (v->type == JV_STRING) {
		r = int_from_string(c, f, opts, v, &negative, &mag);
	} else if (v->type == JV_NUMBER && v->num.integer) {
		r = crit_parse_pyint(v->num.text, v->num.len, &negative, &mag);
		if (r < 0)
			return json2pb_fail(c, v->offset, "field '%s': %.*s is out of range",
					    f->name, (int)v->num.len, v->num.text);
	} else {
		return json2pb_fail(c, v->offset, "field '%s': an integer expected, not %s",
				    f->name,
				    v->type == JV_NUMBER ? "a fraction" : jv_type_name(v->type));
	}
	if (r < 0)
		return r;
	r = fit_int(c, f, v, negative, mag, &u);
	if (r < 0)
		return r;
	if (pb_value_size(f->type) == 8)
		*(uint64_t *)p = u;
	else
		*(uint32_t *)p = (uint32_t)u;
	return 0;
}

static int set_enum(struct json2pb *c, const ProtobufCFieldDescriptor *f, const struct jv *v,
		    void *p)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	const ProtobufCEnumValue *ev;

	if (v->type == JV_NUMBER)
		return set_int(c, f, NULL, v, p);
	if (v->type != JV_STRING)
		return json2pb_fail(c, v->offset, "field '%s': a name of %s expected, not %s",
				    f->name, ed->name, jv_type_name(v->type));
	ev = protobuf_c_enum_descriptor_get_value_by_name(ed, v->str.s);
	if (!ev || strlen(v->str.s) != v->str.len)
		return json2pb_fail(c, v->offset, "field '%s': \"%s\" is not a value of %s",
				    f->name, v->str.s, ed->name);
	*(int32_t *)p = ev->value;
	return 0;
}

static int set_bytes(struct json2pb *c, const ProtobufCFieldDescriptor *f,
		     const struct crit_field_opts *opts, const struct jv *v, void *p)
{
	ProtobufCBinaryData *b = p;
	size_t bad_at;
	int r;

	if (v->type != JV_STRING)
		return json2pb_fail(c, v->offset, "field '%s': a string expected, not %s", f->name,
				    jv_type_name(v->type));
	if (opts && opts->conv == CRIT_CONV_UNIX_NAME)
		return qp_decode(v->str.s, v->str.len, &b->data, &b->len);
	r = b64_decode(v->str.s, v->str.len, &b->data, &b->len, &bad_at);
	if (r == -EINVAL)
		return json2pb_fail(c, v->offset, "field '%s': invalid base64 (character %zu)",
				    f->name, bad_at);
	return r;
}

static int set_value(struct json2pb *c, const ProtobufCFieldDescriptor *f,
		     const struct crit_field_opts *opts, const struct jv *v, void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		if (v->type != JV_OBJECT)
			return json2pb_fail(c, v->offset, "field '%s': an object expected, not %s",
					    f->name, jv_type_name(v->type));
		return json2pb_message(c, v, f->descriptor, NULL, p);
	case PROTOBUF_C_TYPE_BYTES:
		return set_bytes(c, f, opts, v, p);
	case PROTOBUF_C_TYPE_STRING:
		if (v->type != JV_STRING)
			return json2pb_fail(c, v->offset, "field '%s': a string expected, not %s",
					    f->name, jv_type_name(v->type));
		if (strlen(v->str.s) != v->str.len)
			return json2pb_fail(c, v->offset, "field '%s': a NUL in a string", f->name);
		*(char **)p = strdup(v->str.s);
		return *(char **)p ? 0 : -ENOMEM;
	case PROTOBUF_C_TYPE_BOOL:
		if (v->type != JV_BOOL)
			return json2pb_fail(c, v->offset,
					    "field '%s': true or false expected, not %s", f->name,
					    jv_type_name(v->type));
		*(protobuf_c_boolean *)p = v->b;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return set_enum(c, f, v, p);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return json2pb_fail(c, v->offset, "field '%s': floating point is not supported",
				    f->name);
	default:
		return set_int(c, f, opts, v, p);
	}
}

/* pb2dict writes an ipadd list as ["1.2.3.4"] or ["fe80::1"] in pretty mode. */
static int set_ipadd(struct json2pb *c, const ProtobufCFieldDescriptor *f, const struct jv *v,
		     ProtobufCMessage *msg)
{
	const struct jv *item = &v->arr.items[0];
	uint8_t addr[16];
	size_t n;
	uint32_t *words;

	if (v->arr.n != 1)
		return json2pb_fail(c, v->offset, "field '%s': one address expected", f->name);
	if (inet_pton(AF_INET, item->str.s, addr) == 1)
		n = 1;
	else if (inet_pton(AF_INET6, item->str.s, addr) == 1)
		n = 4;
	else
		return json2pb_fail(c, item->offset, "field '%s': \"%s\" is not an IP address",
				    f->name, item->str.s);
	words = malloc(4 * n);
	if (!words)
		return -ENOMEM;
	memcpy(words, addr, 4 * n); /* network byte order, as the words are stored */
	*(uint32_t **)pb_member(msg, f) = words;
	*(size_t *)pb_quantifier(msg, f) = n;
	return 0;
}

static int set_repeated(struct json2pb *c, const ProtobufCFieldDescriptor *f,
			const struct crit_field_opts *opts, const struct jv *v,
			ProtobufCMessage *msg)
{
	size_t size = pb_value_size(f->type);
	char *values;
	int r;

	if (v->type != JV_ARRAY)
		return json2pb_fail(c, v->offset, "field '%s': an array expected, not %s", f->name,
				    jv_type_name(v->type));
	if (opts && (opts->bits & CRIT_R_IPADD) && v->arr.n && v->arr.items[0].type == JV_STRING)
		return set_ipadd(c, f, v, msg);
	if (v->arr.n == 0)
		return 0;
	values = calloc(v->arr.n, size);
	if (!values)
		return -ENOMEM;
	/* owned by msg from here: free_unpacked frees what is filled */
	*(char **)pb_member(msg, f) = values;
	for (size_t i = 0; i < v->arr.n; i++) {
		r = set_value(c, f, opts, &v->arr.items[i], values + i * size);
		if (r < 0)
			return r;
		*(size_t *)pb_quantifier(msg, f) = i + 1;
	}
	return 0;
}

static int set_field(struct json2pb *c, const ProtobufCFieldDescriptor *f,
		     const struct crit_field_opts *opts, const struct jv *v, ProtobufCMessage *msg)
{
	int r;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return set_repeated(c, f, opts, v, msg);
	r = set_value(c, f, opts, v, pb_member(msg, f));
	if (r < 0)
		return r;
	if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)pb_quantifier(msg, f) = f->id;
	else if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
		*(protobuf_c_boolean *)pb_quantifier(msg, f) = 1;
	return 0;
}

static int check_required(struct json2pb *c, const struct jv *obj,
			  const ProtobufCMessageDescriptor *desc, const bool *seen)
{
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return json2pb_fail(c, obj->offset, "required field '%s' of %s is missing",
					    desc->fields[i].name, desc->name);
	return 0;
}

static int fill_message(struct json2pb *c, const struct jv *obj,
			const ProtobufCMessageDescriptor *desc, const char *skip_key,
			ProtobufCMessage *msg)
{
	_cleanup_free_ bool *seen = calloc(desc->n_fields + 1, sizeof(bool));
	const struct crit_field_opts *opts;
	int r;

	if (!seen)
		return -ENOMEM;
	r = crit_render_lookup(c->render, desc, &opts);
	if (r < 0)
		return r;
	for (size_t i = 0; i < obj->obj.n; i++) {
		const struct jv_member *m = &obj->obj.members[i];
		const ProtobufCFieldDescriptor *f;
		size_t idx;

		if (skip_key && streq(m->key, skip_key))
			continue;
		f = strlen(m->key) == m->key_len
			    ? protobuf_c_message_descriptor_get_field_by_name(desc, m->key)
			    : NULL;
		if (!f)
			return json2pb_fail(c, m->key_offset, "%s has no field '%s'", desc->name,
					    m->key);
		idx = f - desc->fields;
		if (seen[idx])
			return json2pb_fail(c, m->key_offset, "field '%s' given twice", m->key);
		seen[idx] = true;
		r = set_field(c, f, opts ? &opts[idx] : NULL, &m->value, msg);
		if (r < 0)
			return r;
	}
	return check_required(c, obj, desc, seen);
}

int json2pb_message(struct json2pb *c, const struct jv *obj, const ProtobufCMessageDescriptor *desc,
		    const char *skip_key, ProtobufCMessage **ret_msg)
{
	ProtobufCMessage *msg;
	int r;

	if (obj->type != JV_OBJECT)
		return json2pb_fail(c, obj->offset, "an object (%s) expected, not %s", desc->name,
				    jv_type_name(obj->type));
	msg = calloc(1, desc->sizeof_message);
	if (!msg)
		return -ENOMEM;
	protobuf_c_message_init(desc, msg);
	r = fill_message(c, obj, desc, skip_key, msg);
	if (r < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return r;
	}
	*ret_msg = msg;
	return 0;
}
