/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A strict JSON parser (RFC 8259) into a tree that remembers the byte
 * offset of every value, so that whoever interprets the tree can say
 * where a wrong value is. Numbers are kept as their text, so that a
 * uint64 is converted exactly by the consumer. Strings are unescaped to
 * UTF-8; the lone surrogates \udc80..\udcff that json-out writes for
 * bytes that are not UTF-8 become those bytes again. The input must be
 * UTF-8 (a leading BOM is skipped, as Python's json.load does). Members
 * keep their order; duplicate keys are left to the consumer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jv_type {
	JV_NULL,
	JV_BOOL,
	JV_NUMBER,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT,
};

struct jv_member;

struct jv {
	enum jv_type type;
	size_t offset; /* of the value's first byte in the input */
	union {
		bool b;
		struct {
			const char *text; /* points into the input */
			size_t len;
			bool integer; /* no fraction, no exponent */
		} num;
		struct {
			const char *s; /* NUL-terminated; may contain NULs */
			size_t len;
		} str;
		struct {
			struct jv *items;
			size_t n;
		} arr;
		struct {
			struct jv_member *members;
			size_t n;
		} obj;
	};
};

struct jv_member {
	const char *key;
	size_t key_len;
	size_t key_offset;
	struct jv value;
};

struct json_doc;

struct json_error {
	size_t offset;
	const char *what; /* static text */
};

/*
 * Parse len bytes (which must outlive the document). On a syntax error,
 * returns -EINVAL and fills *ret_err.
 */
int json_parse(const char *text, size_t len, struct json_doc **ret_doc, struct json_error *ret_err);
const struct jv *json_doc_root(const struct json_doc *doc);
void json_doc_free(struct json_doc *doc);
static inline void json_doc_freep(struct json_doc **d)
{
	if (*d)
		json_doc_free(*d);
}
#define _cleanup_json_doc_ __attribute__((cleanup(json_doc_freep)))

/* The member called key, or NULL. */
const struct jv *jv_get(const struct jv *obj, const char *key);
const char *jv_type_name(enum jv_type t);

/* 1-based line and column of a byte offset, for messages. */
void json_line_col(const char *text, size_t len, size_t offset, unsigned *ret_line,
		   unsigned *ret_col);
