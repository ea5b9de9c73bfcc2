/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The text forms crit gives to bytes: Python's base64.encodebytes() (lines
 * of 76 characters, each ending with "\n"; "" for no bytes) and
 * quopri.encodestring() (quoted-printable, for unix socket names). Outputs
 * are malloc'ed.
 */

#include <stddef.h>
#include <stdint.h>

int b64_encode_lines(const uint8_t *data, size_t len, char **ret_text, size_t *ret_len);
/*
 * Decode base64; newlines, spaces and tabs are skipped. -EINVAL (and the
 * offset of the offending character in *ret_bad_at) for anything else or
 * bad padding.
 */
int b64_decode(const char *text, size_t len, uint8_t **ret_data, size_t *ret_len,
	       size_t *ret_bad_at);

int qp_encode(const uint8_t *data, size_t len, char **ret_text, size_t *ret_len);
/* As binascii.a2b_qp: never fails on syntax, "=" not followed by two hex digits stays as is. */
int qp_decode(const char *text, size_t len, uint8_t **ret_data, size_t *ret_len);

/*
 * An address of a (criu).ipadd list as pb2dict shows it: one word is IPv4,
 * four are IPv6 (Python's compressed form). The words hold the address in
 * network byte order. -EINVAL for another count or a buffer smaller than
 * INET6_ADDRSTRLEN.
 */
int ipadd_format(const uint32_t *words, size_t n, char *buf, size_t size);
