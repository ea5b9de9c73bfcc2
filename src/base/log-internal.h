/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Record codec shared by the logger (encode, and text mode) and the decoder
 * (decode). Text mode formats through the same record, so a text log and a
 * decoded binary log are the same bytes by construction.
 *
 * A record: struct log_record_hdr, then the arguments in order:
 *   int-sized integers (and '*' values, %m's errno): 4 bytes
 *   64-bit integers, pointers, doubles: 8 bytes (host byte order)
 *   strings: u32 length (LOG_STR_NULL for a NULL pointer), then the bytes
 *   perror sites: one more 4-byte value, the errno of the call
 */

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

#define LOG_RECORD_MAX (64 * 1024)
#define LOG_STR_NULL UINT32_MAX
/* site id flag: the payload is one string, the message formatted at the call
 * (a format the codec does not handle, such as %n or long double). */
#define LOG_SITE_PREFORMATTED 0x80000000u

struct log_record_hdr {
	uint32_t size; /* whole record, header included */
	uint32_t site;
	uint64_t ts_ns; /* since the log started (TSC ticks in a LOG_CLOCK_TSC file) */
};

/* Ends every block of a LOG_CLOCK_TSC file: ticks (in hdr.ts_ns) and ns of one instant. */
#define LOG_SITE_CLOCK 0x7fffffffu
struct log_clock_record {
	struct log_record_hdr hdr;
	uint64_t ns;
};

enum log_arg_kind {
	LOG_ARG_INT,    /* promoted to int in varargs */
	LOG_ARG_INT64,  /* long, long long, size_t, intmax_t, ptrdiff_t */
	LOG_ARG_DOUBLE,
	LOG_ARG_STR,
	LOG_ARG_PTR,
	LOG_ARG_ERRNO,  /* %m: no vararg, the errno of the call */
	LOG_ARG_PREC,   /* '*' precision of a %s: an int that bounds the string */
	LOG_ARG_NONE,   /* %% */
};

struct log_spec {
	size_t len;        /* characters of the conversion, '%' included */
	uint8_t nstars;    /* '*' width/precision: ints before the value */
	uint8_t kind;      /* enum log_arg_kind of the value */
	int8_t precision_star; /* index of the '*' that is the precision, or -1 */
	int precision;     /* literal precision, -1 if none */
};

/* Parse one conversion at fmt[0] == '%'. 0 or -EINVAL if not supported. */
int log_spec_parse(const char *fmt, struct log_spec *ret_spec);

/* Fill site->kinds/nargs once. Returns site->parsed. */
int log_site_prepare(struct log_site *site);

/* Encode the arguments of a call into buf (at most size bytes after the
 * header). Returns the record size. */
size_t log_record_encode(struct log_site *site, uint32_t site_id, uint64_t ts_ns, int saved_errno,
			 va_list ap, uint8_t *buf, size_t size);

/*
 * Format one record as a text log line into out (NUL-terminated, truncated
 * to size): "(SS.UUUUUU) " when with_time, "Error (file:line): " or
 * "Warn  (file:line): " by level, the message, ": strerror" for perror
 * sites, "\n". Returns the length of the line (as snprintf would, possibly
 * more than size-1), or -EBADMSG if the record does not fit its site.
 */
int log_record_format(const struct log_site *site, const uint8_t *rec, bool with_time, char *out,
		      size_t size);

/* Sites of this binary, from the linker-made section bounds. */
struct log_site *log_sites_begin(void);
size_t log_sites_count(void);
