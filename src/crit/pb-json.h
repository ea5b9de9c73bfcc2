/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * protobuf-c messages to and from crit's JSON, driven by the message
 * descriptors and the render options (see render.h). The rules are those
 * of pycriu's pb2dict.py, described in docs/crit.md.
 */

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

#include "crit/json-out.h"
#include "crit/json-parse.h"
#include "crit/render.h"

struct pb2json {
	struct json_out *out;
	struct crit_render *render;
	bool pretty;
};

/*
 * Write the fields of msg as members of the JSON object being written (the
 * caller opens and closes it, so that it can add "extra"). is_hex: the
 * message is under a (criu).hex field. -EOPNOTSUPP for a field type crit
 * cannot show (float, double), -ENOMEM.
 */
int pb2json_fields(struct pb2json *c, const ProtobufCMessage *msg, bool is_hex);
/* A whole message as an object. */
int pb2json_message(struct pb2json *c, const ProtobufCMessage *msg, bool is_hex);
/* Bytes as crit shows them by default: base64.encodebytes(). */
int pb2json_base64(struct json_out *o, const uint8_t *data, size_t len);

/* Where a JSON → protobuf conversion failed. */
struct json2pb_error {
	size_t offset;
	char what[256];
};

struct json2pb {
	struct crit_render *render;
	struct json2pb_error err;
};

/*
 * Build a message of type desc from a JSON object, as pb2dict's dict2pb()
 * does, but strictly: a key that is not a field is an error (except
 * skip_key, which may be NULL), so are missing required fields, duplicate
 * keys, values of the wrong kind or out of range. The message is allocated
 * with malloc and freed with protobuf_c_message_free_unpacked(). -EINVAL
 * with c->err filled, or -ENOMEM.
 */
int json2pb_message(struct json2pb *c, const struct jv *obj, const ProtobufCMessageDescriptor *desc,
		    const char *skip_key, ProtobufCMessage **ret_msg);

/* Set c->err; returns -EINVAL. */
int json2pb_fail(struct json2pb *c, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
