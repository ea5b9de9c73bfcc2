/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "base/macro.h"
#include "crit/json-out.h"

int json_out_init(struct json_out *o, bool pretty, size_t size_hint)
{
	*o = (struct json_out){.pretty = pretty};
	o->cap = MAX(size_hint, (size_t)64 * 1024);
	o->buf = malloc(o->cap);
	return o->buf ? 0 : -ENOMEM;
}

void json_out_fini(struct json_out *o)
{
	free(o->buf);
	o->buf = NULL;
}

/* Room for n more bytes, or NULL (o->error set). */
static char *reserve(struct json_out *o, size_t n)
{
	if (o->error)
		return NULL;
	if (o->len + n > o->cap) {
		size_t cap = MAX(o->cap * 2, o->len + n);
		char *b = realloc(o->buf, cap);

		if (!b) {
			o->error = -ENOMEM;
			return NULL;
		}
		o->buf = b;
		o->cap = cap;
	}
	return o->buf + o->len;
}

static void put(struct json_out *o, const char *s, size_t n)
{
	char *p = reserve(o, n);

	if (p) {
		memcpy(p, s, n);
		o->len += n;
	}
}

static void newline_indent(struct json_out *o, unsigned depth)
{
	char *p = reserve(o, 1 + 4 * depth);

	if (!p)
		return;
	*p = '\n';
	memset(p + 1, ' ', 4 * depth);
	o->len += 1 + 4 * depth;
}

/*
 * Before a value or a key: the separator from the previous item (and the
 * indentation in pretty mode), and room for `size` more bytes. Returns
 * where to write them, or NULL (o->error set).
 */
static char *item_start(struct json_out *o, size_t size)
{
	bool comma = false, indent = false;
	char *p;

	if (o->after_key) {
		o->after_key = false;
	} else if (o->depth) {
		comma = o->has_items[o->depth - 1];
		o->has_items[o->depth - 1] = true;
		indent = o->pretty;
	}
	p = reserve(o, size + 2 + (indent ? 1 + 4 * o->depth : 0));
	if (!p)
		return NULL;
	if (comma) {
		*p++ = ',';
		if (!o->pretty)
			*p++ = ' ';
	}
	if (indent) {
		*p++ = '\n';
		memset(p, ' ', 4 * o->depth);
		p += 4 * o->depth;
	}
	o->len = p - o->buf;
	return p;
}

static void open_container(struct json_out *o, char c)
{
	char *p = item_start(o, 1);

	if (!p)
		return;
	if (o->depth >= JSON_OUT_MAX_DEPTH) {
		o->error = -E2BIG;
		return;
	}
	*p = c;
	o->len++;
	o->has_items[o->depth++] = false;
}

static void close_container(struct json_out *o, char c)
{
	if (o->depth == 0) {
		o->error = o->error ?: -EINVAL;
		return;
	}
	o->depth--;
	if (o->pretty && o->has_items[o->depth])
		newline_indent(o, o->depth);
	put(o, &c, 1);
}

void json_obj_begin(struct json_out *o)
{
	open_container(o, '{');
}

void json_obj_end(struct json_out *o)
{
	close_container(o, '}');
}

void json_arr_begin(struct json_out *o)
{
	open_container(o, '[');
}

void json_arr_end(struct json_out *o)
{
	close_container(o, ']');
}

void json_key(struct json_out *o, const char *key)
{
	json_cstr(o, key);
	put(o, ": ", 2);
	o->after_key = true;
}

void json_ident_key(struct json_out *o, const char *key)
{
	size_t len = strlen(key);
	char *p = item_start(o, len + 4);

	if (!p)
		return;
	p[0] = '"';
	memcpy(p + 1, key, len);
	memcpy(p + 1 + len, "\": ", 3);
	o->len += len + 4;
	o->after_key = true;
}

static size_t format_u64(char *out, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930"
		"31323334353637383940414243444546474849505152535455565758596061"
		"6263646566676869707172737475767778798081828384858687888990919293"
		"949596979899";
	char tmp[20], *p = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	n = tmp + sizeof(tmp) - p;
	memcpy(out, p, n);
	return n;
}

void json_u64(struct json_out *o, uint64_t v)
{
	char *p = item_start(o, 20);

	if (p)
		o->len += format_u64(p, v);
}

void json_i64(struct json_out *o, int64_t v)
{
	char *p = item_start(o, 21);

	if (!p)
		return;
	if (v < 0) {
		*p++ = '-';
		o->len++;
		o->len += format_u64(p, -(uint64_t)v);
	} else {
		o->len += format_u64(p, (uint64_t)v);
	}
}

void json_bool(struct json_out *o, bool v)
{
	char *p = item_start(o, 5);

	if (!p)
		return;
	memcpy(p, v ? "true" : "false", v ? 4 : 5);
	o->len += v ? 4 : 5;
}

void json_ascii(struct json_out *o, const char *s, size_t len)
{
	char *p = item_start(o, len + 2);

	if (!p)
		return;
	p[0] = '"';
	memcpy(p + 1, s, len);
	p[len + 1] = '"';
	o->len += len + 2;
}

static const char hexdigits[] = "0123456789abcdef";

static void put_u_escape(char *p, unsigned cp)
{
	p[0] = '\\';
	p[1] = 'u';
	p[2] = hexdigits[(cp >> 12) & 0xf];
	p[3] = hexdigits[(cp >> 8) & 0xf];
	p[4] = hexdigits[(cp >> 4) & 0xf];
	p[5] = hexdigits[cp & 0xf];
}

/*
 * Length of the valid UTF-8 sequence at s (2 to 4) and its code point, or
 * 0 if the bytes there are not one (overlong forms and surrogates
 * included, as Python's strict decoder).
 */
static size_t utf8_seq(const unsigned char *s, size_t len, unsigned *ret_cp)
{
	unsigned cp, min;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

void json_str(struct json_out *o, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	/* worst case: every byte becomes \udcXX (6 chars) */
	char *p = item_start(o, 2 + 6 * len);

	if (!p)
		return;
	*p++ = '"';
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], cp;
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*p++ = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) {
			const char *esc = NULL;

			switch (c) {
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			}
			if (esc) {
				*p++ = esc[0];
				*p++ = esc[1];
			} else {
				put_u_escape(p, c);
				p += 6;
			}
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i, &cp);
		if (n == 0) {
			put_u_escape(p, 0xdc00 | c); /* surrogateescape */
			p += 6;
			i++;
			continue;
		}
		if (cp >= 0x10000) {
			/* a surrogate pair: 12 chars for 4 bytes, within the reservation */
			cp -= 0x10000;
			put_u_escape(p, 0xd800 | (cp >> 10));
			put_u_escape(p + 6, 0xdc00 | (cp & 0x3ff));
			p += 12;
		} else {
			put_u_escape(p, cp);
			p += 6;
		}
		i += n;
	}
	*p++ = '"';
	o->len = p - o->buf;
}

void json_raw(struct json_out *o, const char *s, size_t len)
{
	put(o, s, len);
}
