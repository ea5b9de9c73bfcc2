/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/macro.h"
#include "crit/bytes-conv.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64.encodebytes: 57 input bytes (76 characters) per line. */
#define B64_LINE_BYTES 57

int b64_encode_lines(const uint8_t *data, size_t len, char **ret_text, size_t *ret_len)
{
	size_t lines = (len + B64_LINE_BYTES - 1) / B64_LINE_BYTES;
	char *out = malloc((len + 2) / 3 * 4 + lines + 1), *p = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += B64_LINE_BYTES) {
		size_t end = MIN(len, i + B64_LINE_BYTES), j;

		for (j = i; j + 3 <= end; j += 3) {
			uint32_t v =
				(uint32_t)data[j] << 16 | (uint32_t)data[j + 1] << 8 | data[j + 2];

			*p++ = b64_alphabet[v >> 18];
			*p++ = b64_alphabet[(v >> 12) & 63];
			*p++ = b64_alphabet[(v >> 6) & 63];
			*p++ = b64_alphabet[v & 63];
		}
		if (j < end) {
			uint32_t v = (uint32_t)data[j] << 16;

			if (j + 1 < end)
				v |= (uint32_t)data[j + 1] << 8;
			*p++ = b64_alphabet[v >> 18];
			*p++ = b64_alphabet[(v >> 12) & 63];
			*p++ = j + 1 < end ? b64_alphabet[(v >> 6) & 63] : '=';
			*p++ = '=';
		}
		*p++ = '\n';
	}
	*p = '\0';
	*ret_text = out;
	*ret_len = p - out;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_b64_space(char c)
{
	return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

int b64_decode(const char *text, size_t len, uint8_t **ret_data, size_t *ret_len,
	       size_t *ret_bad_at)
{
	_cleanup_free_ uint8_t *out = malloc(len / 4 * 3 + 3);
	size_t n = 0, quad = 0, pads = 0;
	uint32_t acc = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (is_b64_space(text[i]))
			continue;
		if (text[i] == '=') {
			/* padding completes a group of 2 or 3 characters, and ends the data */
			if (quad + pads < 2 || quad + pads >= 4) {
				*ret_bad_at = i;
				return -EINVAL;
			}
			pads++;
			continue;
		}
		v = b64_value(text[i]);
		if (v < 0 || pads) {
			*ret_bad_at = i;
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++quad == 4) {
			out[n++] = (uint8_t)(acc >> 16);
			out[n++] = (uint8_t)(acc >> 8);
			out[n++] = (uint8_t)acc;
			quad = 0;
			acc = 0;
		}
	}
	if (quad && quad + pads != 4) {
		*ret_bad_at = len;
		return -EINVAL;
	}
	if (quad == 2) {
		out[n++] = (uint8_t)(acc >> 4);
	} else if (quad == 3) {
		out[n++] = (uint8_t)(acc >> 10);
		out[n++] = (uint8_t)(acc >> 2);
	} else if (pads) {
		*ret_bad_at = len;
		return -EINVAL;
	}
	*ret_data = TAKE_PTR(out);
	*ret_len = n;
	return 0;
}

/* binascii.b2a_qp(data, quotetabs=False, istext=True, header=False). */
#define QP_MAXLINESIZE 76

static const char qp_hex[] = "0123456789ABCDEF";

static bool qp_must_quote(const uint8_t *d, size_t len, size_t i, size_t linelen)
{
	uint8_t c = d[i];

	if (c > 126 || c == '=')
		return true;
	/* a lone "." on a line */
	if (c == '.' && linelen == 0 &&
	    (i + 1 == len || d[i + 1] == '\n' || d[i + 1] == '\r' || d[i + 1] == 0))
		return true;
	/* whitespace at the very end */
	if ((c == '\t' || c == ' ') && i + 1 == len)
		return true;
	return c < 33 && c != '\r' && c != '\n' && c != '\t' && c != ' ';
}

int qp_encode(const uint8_t *d, size_t len, char **ret_text, size_t *ret_len)
{
	/* worst case per input byte: "=XX" plus a soft break "=\r\n" */
	char *out = malloc(len * 6 + 1), *p = out;
	const uint8_t *nl = len ? memchr(d, '\n', len) : NULL;
	bool crlf = nl && nl > d && nl[-1] == '\r';
	size_t linelen = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		if (qp_must_quote(d, len, i, linelen)) {
			if (linelen + 3 >= QP_MAXLINESIZE) {
				p = stpcpy(p, crlf ? "=\r\n" : "=\n");
				linelen = 0;
			}
			*p++ = '=';
			*p++ = qp_hex[d[i] >> 4];
			*p++ = qp_hex[d[i] & 15];
			linelen += 3;
			i++;
		} else if (d[i] == '\n' || (i + 1 < len && d[i] == '\r' && d[i + 1] == '\n')) {
			/* whitespace before a line break is quoted */
			if (p > out && (p[-1] == ' ' || p[-1] == '\t')) {
				char ws = p[-1];

				p[-1] = '=';
				*p++ = qp_hex[ws >> 4];
				*p++ = qp_hex[ws & 15];
			}
			p = stpcpy(p, crlf ? "\r\n" : "\n");
			linelen = 0;
			i += d[i] == '\r' ? 2 : 1;
		} else {
			if (i + 1 != len && d[i + 1] != '\n' && linelen + 1 >= QP_MAXLINESIZE) {
				p = stpcpy(p, crlf ? "=\r\n" : "=\n");
				linelen = 0;
			}
			*p++ = (char)d[i++];
			linelen++;
		}
	}
	*p = '\0';
	*ret_text = out;
	*ret_len = p - out;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int qp_decode(const char *t, size_t len, uint8_t **ret_data, size_t *ret_len)
{
	uint8_t *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		if (t[i] != '=') {
			out[n++] = (uint8_t)t[i++];
			continue;
		}
		if (++i >= len)
			break;
		if (t[i] == '\n' || t[i] == '\r') {
			/* soft line break */
			while (i < len && t[i] != '\n')
				i++;
			if (i < len)
				i++;
		} else if (t[i] == '=') {
			out[n++] = '=';
			i++;
		} else if (i + 1 < len && hex_value(t[i]) >= 0 && hex_value(t[i + 1]) >= 0) {
			out[n++] = (uint8_t)(hex_value(t[i]) << 4 | hex_value(t[i + 1]));
			i += 2;
		} else {
			out[n++] = '=';
		}
	}
	*ret_data = out;
	*ret_len = n;
	return 0;
}

int ipadd_format(const uint32_t *words, size_t n, char *buf, size_t size)
{
	uint8_t addr[16];
	size_t best = 0, best_len = 0, len = 0;
	uint16_t g[8];
	char *t = buf;

	if ((n != 1 && n != 4) || size < INET6_ADDRSTRLEN)
		return -EINVAL;
	/* the words hold the address in network byte order */
	memcpy(addr, words, 4 * n);
	if (n == 1) {
		inet_ntop(AF_INET, addr, buf, size);
		return 0;
	}
	/* Python's IPv6Address.compressed: the first longest run (>= 2) of zero
	 * groups becomes "::", and no dotted IPv4 tail */
	for (size_t i = 0; i < 8; i++) {
		g[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
		len = g[i] ? 0 : len + 1;
		if (len > best_len) {
			best_len = len;
			best = i + 1 - len;
		}
	}
	if (best_len < 2)
		best_len = 0;
	*t = '\0';
	for (size_t i = 0; i < 8; i++) {
		if (best_len && i == best) {
			t = stpcpy(t, i == 0 ? "::" : ":");
			i += best_len - 1;
			continue;
		}
		t += sprintf(t, "%x%s", g[i], i < 7 ? ":" : "");
	}
	return 0;
}
