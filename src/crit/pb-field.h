/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Generic access to the fields of a protobuf-c message through its descriptor. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

static inline void *pb_member(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (char *)msg + f->offset;
}

static inline void *pb_quantifier(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (char *)msg + f->quantifier_offset;
}

/* Size of one value of the field's type in a message or a repeated array. */
static inline size_t pb_value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static inline bool pb_type_is_signed(ProtobufCType type)
{
	return type == PROTOBUF_C_TYPE_INT32 || type == PROTOBUF_C_TYPE_SINT32 ||
	       type == PROTOBUF_C_TYPE_SFIXED32 || type == PROTOBUF_C_TYPE_INT64 ||
	       type == PROTOBUF_C_TYPE_SINT64 || type == PROTOBUF_C_TYPE_SFIXED64 ||
	       type == PROTOBUF_C_TYPE_ENUM;
}

static inline bool pb_type_is_integer(ProtobufCType type)
{
	return type <= PROTOBUF_C_TYPE_FIXED64 && type != PROTOBUF_C_TYPE_FLOAT &&
	       type != PROTOBUF_C_TYPE_DOUBLE;
}

/* An integer value at p, as a sign-extended or zero-extended 64-bit number. */
static inline uint64_t pb_get_int(ProtobufCType type, const void *p)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return (uint64_t)(int64_t) * (const int32_t *)p;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/*
 * Whether the field is set, as Python's ListFields() sees it; *ret_count
 * is the number of values (0 or 1 for a field that is not repeated).
 */
static inline bool pb_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
				    size_t *ret_count)
{
	const void *member = pb_member(msg, f);
	size_t n = 1;

	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
	case PROTOBUF_C_LABEL_NONE: /* proto3; CRIU's schemas are all proto2 */
		break;
	case PROTOBUF_C_LABEL_REPEATED:
		n = *(const size_t *)pb_quantifier(msg, f);
		break;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			n = *(const uint32_t *)pb_quantifier(msg, f) == f->id;
		else if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
			n = *(void *const *)member && *(void *const *)member != f->default_value;
		else
			n = *(const protobuf_c_boolean *)pb_quantifier(msg, f) != 0;
		break;
	}
	*ret_count = n;
	return n > 0;
}
