/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "base/macro.h"
#include "crit/json-parse.h"

#define MAX_DEPTH 256
#define CHUNK_SIZE (256 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct json_doc {
	struct chunk *chunks;
	struct jv root;
};

struct parser {
	const char *s;
	size_t len, pos;
	struct json_doc *doc;
	struct json_error *err;
	unsigned depth;
};

static void *arena_alloc(struct json_doc *doc, size_t size)
{
	struct chunk *c = doc->chunks;

	size = ALIGN_UP(size, sizeof(max_align_t));
	if (!c || c->size - c->used < size) {
		size_t csize = MAX((size_t)CHUNK_SIZE, size);

		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = doc->chunks;
		doc->chunks = c;
	}
	c->used += size;
	return (char *)c->data + c->used - size;
}

void json_doc_free(struct json_doc *doc)
{
	if (!doc)
		return;
	while (doc->chunks) {
		struct chunk *next = doc->chunks->next;

		free(doc->chunks);
		doc->chunks = next;
	}
	free(doc);
}

const struct jv *json_doc_root(const struct json_doc *doc)
{
	return &doc->root;
}

static int fail(struct parser *p, size_t offset, const char *what)
{
	p->err->offset = offset;
	p->err->what = what;
	return -EINVAL;
}

static int oom(struct parser *p)
{
	fail(p, p->pos, "out of memory");
	return -ENOMEM;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int parse_value(struct parser *p, struct jv *v);

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return false;
	p->pos += n;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct jv *v)
{
	size_t start = p->pos;
	bool integer = true;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		return fail(p, start, "invalid number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		integer = false;
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, p->pos, "invalid number: digits expected after '.'");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		integer = false;
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, p->pos, "invalid number: digits expected in the exponent");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	v->type = JV_NUMBER;
	v->num.text = p->s + start;
	v->num.len = p->pos - start;
	v->num.integer = integer;
	return 0;
}

static int hex4(struct parser *p, size_t at, unsigned *ret)
{
	unsigned v = 0;

	if (p->len - at < 4)
		return fail(p, at, "truncated \\u escape");
	for (size_t i = at; i < at + 4; i++) {
		char c = p->s[i];
		unsigned d;

		if (is_digit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return fail(p, i, "invalid \\u escape");
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence of 2-4 bytes at s, or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	unsigned cp, min;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* An escape at p->pos (just after the backslash); writes its bytes to o. */
static int parse_escape(struct parser *p, char *o, size_t *ret_n)
{
	size_t at = p->pos - 1;
	unsigned cp, lo;
	int r;

	if (p->pos >= p->len)
		return fail(p, at, "unterminated string");
	switch (p->s[p->pos++]) {
	case '"':
		*o = '"';
		break;
	case '\\':
		*o = '\\';
		break;
	case '/':
		*o = '/';
		break;
	case 'b':
		*o = '\b';
		break;
	case 'f':
		*o = '\f';
		break;
	case 'n':
		*o = '\n';
		break;
	case 'r':
		*o = '\r';
		break;
	case 't':
		*o = '\t';
		break;
	case 'u':
		r = hex4(p, p->pos, &cp);
		if (r < 0)
			return r;
		p->pos += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
		    p->s[p->pos + 1] == 'u' && hex4(p, p->pos + 2, &lo) == 0 && lo >= 0xdc00 &&
		    lo <= 0xdfff) {
			p->pos += 6;
			*ret_n = put_utf8(o, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			return 0;
		}
		if (cp >= 0xdc80 && cp <= 0xdcff) {
			/* surrogateescape: a byte that was not UTF-8 */
			*o = (char)(cp & 0xff);
			*ret_n = 1;
			return 0;
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			return fail(p, at, "unpaired surrogate in \\u escape");
		*ret_n = put_utf8(o, cp);
		return 0;
	default:
		return fail(p, at, "invalid escape in string");
	}
	*ret_n = 1;
	return 0;
}

static int parse_string(struct parser *p, const char **ret_s, size_t *ret_len)
{
	size_t start = p->pos++; /* the opening quote */
	size_t end, n = 0;
	char *out;

	/* find the end first: the unescaped string is never longer than the source */
	for (end = p->pos; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len)
		return fail(p, start, "unterminated string");
	out = arena_alloc(p->doc, end - p->pos + 1);
	if (!out)
		return oom(p);
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos];
		size_t k;
		int r;

		if (c == '\\') {
			p->pos++;
			r = parse_escape(p, out + n, &k);
			if (r < 0)
				return r;
			n += k;
		} else if (c < 0x20) {
			return fail(p, p->pos, "control character in string");
		} else if (c < 0x80) {
			out[n++] = (char)c;
			p->pos++;
		} else {
			k = utf8_len((const unsigned char *)p->s + p->pos, end - p->pos);
			if (!k)
				return fail(p, p->pos, "invalid UTF-8 in string");
			memcpy(out + n, p->s + p->pos, k);
			n += k;
			p->pos += k;
		}
	}
	p->pos = end + 1;
	out[n] = '\0';
	*ret_s = out;
	*ret_len = n;
	return 0;
}

/* A growable array of T, copied into the arena at the end. */
struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void *items = realloc(v->items, cap * v->size);

		if (!items)
			return NULL;
		v->items = items;
		v->cap = cap;
	}
	return (char *)v->items + v->n++ * v->size;
}

static void *vec_to_arena(struct parser *p, struct vec *v)
{
	void *a;

	if (v->n == 0)
		return NULL;
	a = arena_alloc(p->doc, v->n * v->size);
	if (a)
		memcpy(a, v->items, v->n * v->size);
	return a;
}

static int parse_array(struct parser *p, struct jv *v)
{
	struct vec items = {.size = sizeof(struct jv)};
	int r = 0;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		goto done;
	}
	for (;;) {
		struct jv *item = vec_push(&items);

		if (!item) {
			r = oom(p);
			goto out;
		}
		skip_ws(p);
		r = parse_value(p, item);
		if (r < 0)
			goto out;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		r = fail(p, p->pos, "',' or ']' expected in array");
		goto out;
	}
done:
	v->type = JV_ARRAY;
	v->arr.n = items.n;
	v->arr.items = vec_to_arena(p, &items);
	if (items.n && !v->arr.items)
		r = oom(p);
out:
	free(items.items);
	return r;
}

static int parse_object(struct parser *p, struct jv *v)
{
	struct vec members = {.size = sizeof(struct jv_member)};
	int r = 0;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		goto done;
	}
	for (;;) {
		struct jv_member *m = vec_push(&members);

		if (!m) {
			r = oom(p);
			goto out;
		}
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"') {
			r = fail(p, p->pos, "a key (string) expected in object");
			goto out;
		}
		m->key_offset = p->pos;
		r = parse_string(p, &m->key, &m->key_len);
		if (r < 0)
			goto out;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			r = fail(p, p->pos, "':' expected after key");
			goto out;
		}
		p->pos++;
		skip_ws(p);
		r = parse_value(p, &m->value);
		if (r < 0)
			goto out;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		r = fail(p, p->pos, "',' or '}' expected in object");
		goto out;
	}
done:
	v->type = JV_OBJECT;
	v->obj.n = members.n;
	v->obj.members = vec_to_arena(p, &members);
	if (members.n && !v->obj.members)
		r = oom(p);
out:
	free(members.items);
	return r;
}

static int parse_value(struct parser *p, struct jv *v)
{
	int r;

	*v = (struct jv){.offset = p->pos};
	if (p->pos >= p->len)
		return fail(p, p->pos, "unexpected end of input, a value expected");
	if (++p->depth > MAX_DEPTH)
		return fail(p, p->pos, "nesting too deep");
	switch (p->s[p->pos]) {
	case '{':
		r = parse_object(p, v);
		break;
	case '[':
		r = parse_array(p, v);
		break;
	case '"':
		v->type = JV_STRING;
		r = parse_string(p, &v->str.s, &v->str.len);
		break;
	case 't':
	case 'f':
		v->type = JV_BOOL;
		v->b = p->s[p->pos] == 't';
		r = literal(p, v->b ? "true" : "false") ? 0 : fail(p, p->pos, "invalid literal");
		break;
	case 'n':
		v->type = JV_NULL;
		r = literal(p, "null") ? 0 : fail(p, p->pos, "invalid literal");
		break;
	default:
		r = parse_number(p, v);
		if (r < 0 && p->err->offset == v->offset)
			p->err->what = "a value expected";
		break;
	}
	p->depth--;
	return r;
}

int json_parse(const char *text, size_t len, struct json_doc **ret_doc, struct json_error *ret_err)
{
	struct json_doc *doc = calloc(1, sizeof(*doc));
	struct parser p = {.s = text, .len = len, .doc = doc, .err = ret_err};
	int r;

	if (!doc)
		return -ENOMEM;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		p.pos = 3;
	skip_ws(&p);
	r = parse_value(&p, &doc->root);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos < p.len)
			r = fail(&p, p.pos, "extra data after the JSON document");
	}
	if (r < 0) {
		json_doc_free(doc);
		return r;
	}
	*ret_doc = doc;
	return 0;
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	size_t len = strlen(key);

	if (obj->type != JV_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->obj.n; i++)
		if (obj->obj.members[i].key_len == len &&
		    !memcmp(obj->obj.members[i].key, key, len))
			return &obj->obj.members[i].value;
	return NULL;
}

const char *jv_type_name(enum jv_type t)
{
	switch (t) {
	case JV_NULL:
		return "null";
	case JV_BOOL:
		return "a boolean";
	case JV_NUMBER:
		return "a number";
	case JV_STRING:
		return "a string";
	case JV_ARRAY:
		return "an array";
	case JV_OBJECT:
		return "an object";
	}
	return "?";
}

void json_line_col(const char *text, size_t len, size_t offset, unsigned *ret_line,
		   unsigned *ret_col)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}
