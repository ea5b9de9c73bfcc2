/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record codec: printf conversions parsed once per call site, arguments
 * copied raw at the call, text made from the record with snprintf one
 * conversion at a time (so the text is exactly what printf would print).
 */
#include <stdbool.h>

#include "base/log-internal.h"

static bool is_flag(char c)
{
	return c && strchr("-+ #0'I", c);
}

static const char *skip_digits(const char *p)
{
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

/* Length modifiers we accept, and whether they make the value 64-bit. */
static const char *parse_length(const char *p, bool *ret_wide, bool *ret_long_double)
{
	*ret_wide = false;
	*ret_long_double = false;
	if (p[0] == 'h')
		return p + (p[1] == 'h' ? 2 : 1);
	if (p[0] == 'l' || p[0] == 'q' || p[0] == 'j' || p[0] == 'z' || p[0] == 'Z' ||
	    p[0] == 't') {
		*ret_wide = true;
		return p + (p[0] == 'l' && p[1] == 'l' ? 2 : 1);
	}
	if (p[0] == 'L') {
		*ret_long_double = true;
		return p + 1;
	}
	return p;
}

int log_spec_parse(const char *fmt, struct log_spec *ret_spec)
{
	struct log_spec s = { .precision_star = -1, .precision = -1 };
	const char *p = fmt + 1;
	bool wide, long_double;

	if (*p == '%') {
		s.len = 2;
		s.kind = LOG_ARG_NONE;
		*ret_spec = s;
		return 0;
	}
	while (is_flag(*p))
		p++;
	if (*p == '*') {
		s.nstars++;
		p++;
	} else
		p = skip_digits(p);
	if (*p == '.') {
		p++;
		if (*p == '*') {
			s.precision_star = (int8_t)s.nstars++;
			p++;
		} else {
			s.precision = atoi(p);
			p = skip_digits(p);
		}
	}
	p = parse_length(p, &wide, &long_double);
	switch (*p) {
	case 'd':
	case 'i':
	case 'o':
	case 'u':
	case 'x':
	case 'X':
		s.kind = wide ? LOG_ARG_INT64 : LOG_ARG_INT;
		break;
	case 'c':
		if (wide)
			return -EINVAL; /* wint_t */
		s.kind = LOG_ARG_INT;
		break;
	case 'e':
	case 'E':
	case 'f':
	case 'F':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		if (long_double)
			return -EINVAL;
		s.kind = LOG_ARG_DOUBLE;
		break;
	case 's':
		if (wide)
			return -EINVAL; /* wchar_t strings */
		s.kind = LOG_ARG_STR;
		break;
	case 'p':
		s.kind = LOG_ARG_PTR;
		break;
	case 'm':
		s.kind = LOG_ARG_ERRNO;
		break;
	default: /* %n, %C, %S, and anything unknown */
		return -EINVAL;
	}
	s.len = (size_t)(p + 1 - fmt);
	*ret_spec = s;
	return 0;
}

int log_site_prepare(struct log_site *site)
{
	const char *p = site->fmt;
	uint8_t n = 0;

	if (__atomic_load_n(&site->parsed, __ATOMIC_ACQUIRE))
		return site->parsed;
	while ((p = strchr(p, '%'))) {
		struct log_spec s;

		if (log_spec_parse(p, &s) < 0 || n + s.nstars + 1 > LOG_MAX_ARGS) {
			__atomic_store_n(&site->parsed, 2, __ATOMIC_RELEASE);
			return 2;
		}
		/* "%.5s" may point at a buffer without NUL: keep such sites as text. */
		if (s.kind == LOG_ARG_STR && s.precision >= 0) {
			__atomic_store_n(&site->parsed, 2, __ATOMIC_RELEASE);
			return 2;
		}
		for (int i = 0; i < s.nstars; i++)
			site->kinds[n++] = (s.kind == LOG_ARG_STR && i == s.precision_star)
						   ? LOG_ARG_PREC
						   : LOG_ARG_INT;
		if (s.kind != LOG_ARG_NONE)
			site->kinds[n++] = s.kind;
		p += s.len;
	}
	site->nargs = n;
	__atomic_store_n(&site->parsed, 1, __ATOMIC_RELEASE);
	return 1;
}

struct writer {
	uint8_t *p, *end;
};

static void put_u64(struct writer *w, uint64_t v)
{
	memcpy(w->p, &v, 8);
	w->p += 8;
}

static void put_i32(struct writer *w, int32_t v)
{
	memcpy(w->p, &v, 4);
	w->p += 4;
}

/* Strings take what room is left; the record never exceeds its buffer. */
static void put_str(struct writer *w, const char *s, int precision)
{
	size_t room = (size_t)(w->end - w->p) - 4;
	uint32_t len;

	if (!s) {
		len = LOG_STR_NULL;
		memcpy(w->p, &len, 4);
		w->p += 4;
		return;
	}
	len = (uint32_t)strnlen(s, MIN(precision >= 0 ? (size_t)precision : SIZE_MAX, room));
	memcpy(w->p, &len, 4);
	memcpy(w->p + 4, s, len);
	w->p += 4 + len;
}

/* Room the fixed-size arguments and the errno need, so strings leave it. */
#define LOG_FIXED_ROOM ((LOG_MAX_ARGS + 1) * 8)

size_t log_record_encode(struct log_site *site, uint32_t site_id, uint64_t ts_ns, int saved_errno,
			 va_list ap, uint8_t *buf, size_t size)
{
	struct writer w = { buf + sizeof(struct log_record_hdr), buf + size - LOG_FIXED_ROOM };
	struct log_record_hdr h = { .site = site_id, .ts_ns = ts_ns };
	int precision = -1;

	if (log_site_prepare(site) == 2) {
		/* Not a format the codec handles: keep the text made at the call. */
		char tmp[4096];

		vsnprintf(tmp, sizeof(tmp), site->fmt, ap);
		h.site |= LOG_SITE_PREFORMATTED;
		put_str(&w, tmp, -1);
	} else {
		for (int i = 0; i < site->nargs; i++) {
			switch (site->kinds[i]) {
			case LOG_ARG_INT:
				put_i32(&w, va_arg(ap, int));
				break;
			case LOG_ARG_PREC:
				precision = va_arg(ap, int);
				put_i32(&w, precision);
				break;
			case LOG_ARG_INT64:
				put_u64(&w, va_arg(ap, uint64_t));
				break;
			case LOG_ARG_DOUBLE: {
				double d = va_arg(ap, double);
				uint64_t v;

				memcpy(&v, &d, 8);
				put_u64(&w, v);
				break;
			}
			case LOG_ARG_STR:
				put_str(&w, va_arg(ap, const char *), precision);
				precision = -1;
				break;
			case LOG_ARG_PTR:
				put_u64(&w, (uint64_t)(uintptr_t)va_arg(ap, void *));
				break;
			case LOG_ARG_ERRNO:
				put_i32(&w, saved_errno);
				break;
			}
		}
	}
	w.end = buf + size;
	if (site->perror)
		put_i32(&w, saved_errno);
	h.size = (uint32_t)(w.p - buf);
	memcpy(buf, &h, sizeof(h));
	return h.size;
}

struct reader {
	const uint8_t *p, *end;
};

static int get_u64(struct reader *r, uint64_t *ret)
{
	if (r->end - r->p < 8)
		return -EBADMSG;
	memcpy(ret, r->p, 8);
	r->p += 8;
	return 0;
}

static int get_i32(struct reader *r, int32_t *ret)
{
	if (r->end - r->p < 4)
		return -EBADMSG;
	memcpy(ret, r->p, 4);
	r->p += 4;
	return 0;
}

static int get_str(struct reader *r, const char **ret_s, uint32_t *ret_len)
{
	uint32_t len;

	if (r->end - r->p < 4)
		return -EBADMSG;
	memcpy(&len, r->p, 4);
	r->p += 4;
	if (len == LOG_STR_NULL) {
		*ret_s = NULL;
		*ret_len = 0;
		return 0;
	}
	if ((size_t)(r->end - r->p) < len)
		return -EBADMSG;
	*ret_s = (const char *)r->p;
	*ret_len = len;
	r->p += len;
	return 0;
}

/* Text accumulated like snprintf: len counts what would have been written. */
struct out {
	char *buf;
	size_t size, len;
};

static void out_append(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;

		memcpy(o->buf + o->len, s, MIN(n, room));
		o->buf[o->len + MIN(n, room)] = '\0';
	}
	o->len += n;
}

_printf_(2, 3) static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_append(o, tmp, (size_t)n);
		return;
	}
	/* Rare: a wide field. Format again into a buffer of the right size. */
	_cleanup_free_ char *big = malloc((size_t)n + 1);
	if (!big)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out_append(o, big, (size_t)n);
}

/*
 * Rewrite a conversion with its '*' values written in as digits, so that
 * snprintf takes only the value. A string gets ".LEN" as its precision
 * (strings are stored without NUL; encode already applied the precision).
 */
static int spec_rewrite(const char *spec, const struct log_spec *s, const int64_t *stars,
			bool bounded_str, uint32_t str_len, char *ret, size_t size)
{
	struct out o = { ret, size, 0 };
	int star = 0;

	for (size_t i = 0; i < s->len - 1; i++) {
		char c = spec[i];

		if (c == '.' && bounded_str) {
			/* drop the precision: ".LEN" replaces it below */
			i++;
			if (spec[i] == '*')
				star++;
			else
				while (spec[i + 1] >= '0' && spec[i + 1] <= '9')
					i++;
			continue;
		}
		if (c == '*') {
			if (star == s->precision_star && stars[star] < 0)
				o.len--; /* a negative precision means none: drop the '.' */
			else
				out_printf(&o, "%lld", (long long)stars[star]);
			star++;
			continue;
		}
		out_append(&o, &c, 1);
	}
	if (bounded_str)
		out_printf(&o, ".%u", str_len);
	out_append(&o, s->kind == LOG_ARG_ERRNO ? "s" : &spec[s->len - 1], 1);
	return o.len < size ? 0 : -ENAMETOOLONG;
}

static int format_spec(struct out *o, const char *spec, const struct log_spec *s, struct reader *r)
{
	int64_t stars[2] = { 0, 0 };
	char fmt[64];
	uint64_t v = 0;
	const char *str = NULL;
	uint32_t len = 0;
	int k;

	if (s->kind == LOG_ARG_NONE) {
		out_append(o, "%", 1);
		return 0;
	}
	for (int i = 0; i < s->nstars; i++) {
		int32_t star;

		if (get_i32(r, &star) < 0)
			return -EBADMSG;
		stars[i] = star;
	}
	if (s->kind == LOG_ARG_STR)
		k = get_str(r, &str, &len);
	else if (s->kind == LOG_ARG_INT || s->kind == LOG_ARG_ERRNO) {
		int32_t i32 = 0;

		k = get_i32(r, &i32);
		v = (uint64_t)(int64_t)i32;
	} else
		k = get_u64(r, &v);
	if (k < 0)
		return k;
	if (spec_rewrite(spec, s, stars, s->kind == LOG_ARG_STR && str, len, fmt, sizeof(fmt)) < 0)
		return -EBADMSG;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	switch (s->kind) {
	case LOG_ARG_INT:
		out_printf(o, fmt, (int)(int64_t)v);
		break;
	case LOG_ARG_INT64:
		out_printf(o, fmt, (long long)v);
		break;
	case LOG_ARG_DOUBLE: {
		double d;

		memcpy(&d, &v, 8);
		out_printf(o, fmt, d);
		break;
	}
	case LOG_ARG_STR:
		out_printf(o, fmt, str);
		break;
	case LOG_ARG_PTR:
		out_printf(o, fmt, (void *)(uintptr_t)v);
		break;
	case LOG_ARG_ERRNO:
		out_printf(o, fmt, strerror((int)(int64_t)v));
		break;
	default:
		return -EBADMSG;
	}
#pragma GCC diagnostic pop
	return 0;
}

static int format_message(const struct log_site *site, bool preformatted, struct reader *r,
			  struct out *o)
{
	const char *p = site->fmt, *pct;

	if (preformatted) {
		const char *s;
		uint32_t len;

		if (get_str(r, &s, &len) < 0 || !s)
			return -EBADMSG;
		out_append(o, s, len);
		return 0;
	}
	while ((pct = strchr(p, '%'))) {
		struct log_spec s;

		out_append(o, p, (size_t)(pct - p));
		if (log_spec_parse(pct, &s) < 0 || format_spec(o, pct, &s, r) < 0)
			return -EBADMSG;
		p = pct + s.len;
	}
	out_append(o, p, strlen(p));
	return 0;
}

int log_record_format(const struct log_site *site, const uint8_t *rec, bool with_time, char *out,
		      size_t size)
{
	struct log_record_hdr h;
	struct out o = { out, size, 0 };
	struct reader r;

	memcpy(&h, rec, sizeof(h));
	r = (struct reader){ rec + sizeof(h), rec + h.size };
	if (size)
		out[0] = '\0';
	if (with_time)
		out_printf(&o, "(%02llu.%06llu) ", (unsigned long long)(h.ts_ns / 1000000000ull),
			   (unsigned long long)(h.ts_ns % 1000000000ull / 1000));
	if (site->level == LOGL_ERROR)
		out_printf(&o, "Error (%s:%u): ", site->file, site->line);
	else if (site->level == LOGL_WARN)
		out_printf(&o, "Warn  (%s:%u): ", site->file, site->line);
	if (format_message(site, h.site & LOG_SITE_PREFORMATTED, &r, &o) < 0)
		return -EBADMSG;
	if (site->perror) {
		int32_t e;

		if (get_i32(&r, &e) < 0)
			return -EBADMSG;
		out_printf(&o, ": %s", strerror(e));
	}
	if (r.p != r.end)
		return -EBADMSG;
	out_append(&o, "\n", 1);
	return (int)MIN(o.len, (size_t)INT32_MAX);
}
