/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A streaming JSON writer that produces byte for byte what Python's
 * json.dump() writes: separators ", " and ": " on one line, or indent=4
 * (",\n" between items, "{}" and "[]" when empty) in pretty mode, and
 * ensure_ascii strings (\uXXXX for everything outside printable ASCII).
 * The document is built in memory (buf, len): like crit, the image tool
 * writes nothing when decoding fails half-way.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_OUT_MAX_DEPTH 64

struct json_out {
	bool pretty;
	char *buf;
	size_t len, cap;
	unsigned depth;
	bool after_key;
	bool has_items[JSON_OUT_MAX_DEPTH];
	int error; /* first error, negative errno; later calls do nothing */
};

/* size_hint: the expected size of the document, to allocate once (0: small). */
int json_out_init(struct json_out *o, bool pretty, size_t size_hint);
void json_out_fini(struct json_out *o);

void json_obj_begin(struct json_out *o);
void json_obj_end(struct json_out *o);
void json_arr_begin(struct json_out *o);
void json_arr_end(struct json_out *o);
void json_key(struct json_out *o, const char *key);
/* A key known to need no escaping (a protobuf field name: [A-Za-z0-9_]). */
void json_ident_key(struct json_out *o, const char *key);
void json_u64(struct json_out *o, uint64_t v);
void json_i64(struct json_out *o, int64_t v);
void json_bool(struct json_out *o, bool v);
/*
 * A string of bytes. UTF-8 is written as \u escapes like Python does;
 * bytes that are not valid UTF-8 are written as lone surrogates \udc80 ..
 * \udcff (Python's "surrogateescape"), which the parser turns back into
 * the same bytes.
 */
void json_str(struct json_out *o, const char *s, size_t len);
static inline void json_cstr(struct json_out *o, const char *s)
{
	json_str(o, s, __builtin_strlen(s));
}
/* A string known to need no escaping (printable ASCII without '"' and '\\'). */
void json_ascii(struct json_out *o, const char *s, size_t len);
/* Raw text, already valid JSON (a newline after the document, for instance). */
void json_raw(struct json_out *o, const char *s, size_t len);
