/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `stasis log decode`: binary records back to the text a text log holds. */
#include <inttypes.h>

#include "base/log-file.h"
#include "base/log-internal.h"

#define DECODE_CHUNK (1024 * 1024)

/* Read up to n bytes; returns how many (less only at end of file) or -errno. */
static ssize_t read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int check_header(int fd, FILE *err, const char *name, struct log_file_header *ret)
{
	struct log_file_header h;
	ssize_t n = read_full(fd, (uint8_t *)&h, sizeof(h));

	if (n < 0) {
		fprintf(err, "%s: cannot read: %s\n", name, strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < sizeof(h) || memcmp(h.magic, LOG_FILE_MAGIC, sizeof(h.magic)) != 0) {
		fprintf(err, "%s: not a stasis binary log (no %s header)\n", name, "STASLOG");
		return -EPROTO;
	}
	if (h.version != LOG_FILE_VERSION || h.header_size != sizeof(h)) {
		fprintf(err, "%s: binary log version %u is not the one this stasis reads (%u)\n",
			name, h.version, LOG_FILE_VERSION);
		return -EPROTO;
	}
	if (h.build_id != log_build_id() || h.nsites != log_sites_count()) {
		fprintf(err,
			"%s: this log was written by another build of stasis (build id %016" PRIx64
			", this one is %016" PRIx64 "); decode it with the stasis binary that wrote it\n",
			name, h.build_id, log_build_id());
		return -EPROTO;
	}
	*ret = h;
	return 0;
}

/*
 * Ticks to ns in a LOG_CLOCK_TSC log: between the last clock record (or the
 * start) and the next one, linearly. A block cut before its clock record
 * keeps the last rate (or the header's estimate).
 */
struct tick_converter {
	bool tsc;
	bool need_rate; /* at the start of a block: look ahead for its clock record */
	uint64_t ticks0, ns0;
	double ns_per_tick;
};

static void converter_init(struct tick_converter *c, const struct log_file_header *h)
{
	*c = (struct tick_converter){
		.tsc = h->clock == LOG_CLOCK_TSC,
		.need_rate = true,
		.ns_per_tick = h->ticks_per_ms ? 1e6 / (double)h->ticks_per_ms : 1.0,
	};
}

/* Find this block's clock record in buf[pos, have) and set the rate from it. */
static void converter_look_ahead(struct tick_converter *c, const uint8_t *buf, size_t pos,
				 size_t have)
{
	struct log_clock_record cr;

	c->need_rate = false;
	while (have - pos >= sizeof(struct log_record_hdr)) {
		memcpy(&cr.hdr, buf + pos, sizeof(cr.hdr));
		if (cr.hdr.size < sizeof(cr.hdr) || cr.hdr.size > have - pos)
			return;
		if (cr.hdr.site == LOG_SITE_CLOCK && cr.hdr.size == sizeof(cr)) {
			memcpy(&cr, buf + pos, sizeof(cr));
			if (cr.hdr.ts_ns > c->ticks0 && cr.ns > c->ns0)
				c->ns_per_tick = (double)(cr.ns - c->ns0) /
						 (double)(cr.hdr.ts_ns - c->ticks0);
			return;
		}
		pos += cr.hdr.size;
	}
}

static uint64_t converter_ns(const struct tick_converter *c, uint64_t ticks)
{
	if (!c->tsc)
		return ticks;
	return c->ns0 + (uint64_t)((double)(int64_t)(ticks - c->ticks0) * c->ns_per_tick + 0.5);
}

/* Format one record; -EBADMSG if it is not a record of this build. */
static int decode_record(uint8_t *rec, struct tick_converter *conv, FILE *out, char *text,
			 size_t text_size)
{
	struct log_record_hdr h;
	uint32_t id;
	int n;

	memcpy(&h, rec, sizeof(h));
	if (h.site == LOG_SITE_CLOCK) {
		struct log_clock_record cr;

		if (!conv->tsc || h.size != sizeof(cr))
			return -EBADMSG;
		memcpy(&cr, rec, sizeof(cr));
		conv->ticks0 = cr.hdr.ts_ns;
		conv->ns0 = cr.ns;
		conv->need_rate = true;
		return 0;
	}
	/* The formatter reads ns: put them in place of the ticks. */
	h.ts_ns = converter_ns(conv, h.ts_ns);
	memcpy(rec, &h, sizeof(h));
	id = h.site & ~LOG_SITE_PREFORMATTED;
	if (id >= log_sites_count())
		return -EBADMSG;
	n = log_record_format(&log_sites_begin()[id], rec, true, text, text_size);
	if (n < 0)
		return n;
	fwrite(text, 1, MIN((size_t)n, text_size - 1), out);
	return 0;
}

int log_decode(int in_fd, FILE *out, FILE *err, const char *name)
{
	_cleanup_free_ uint8_t *buf = malloc(DECODE_CHUNK + LOG_RECORD_MAX);
	_cleanup_free_ char *text = malloc(LOG_RECORD_MAX + 256);
	size_t have = 0, pos = 0;
	uint64_t offset = sizeof(struct log_file_header);
	struct log_file_header header = {};
	struct tick_converter conv;
	bool eof = false;
	int r;

	if (!buf || !text)
		return -ENOMEM;
	r = check_header(in_fd, err, name, &header);
	if (r < 0)
		return r;
	converter_init(&conv, &header);
	for (;;) {
		struct log_record_hdr h;

		/* A block (at most the writer's 1 MiB buffer) must be whole in
		 * buf when its clock record is looked for: refill first. */
		if ((have - pos < LOG_RECORD_MAX || (conv.tsc && conv.need_rate)) && !eof) {
			ssize_t n;

			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
			n = read_full(in_fd, buf + have, DECODE_CHUNK + LOG_RECORD_MAX - have);
			if (n < 0)
				return (int)n;
			have += (size_t)n;
			eof = have < DECODE_CHUNK + LOG_RECORD_MAX;
		}
		if (pos == have)
			return 0;
		if (conv.tsc && conv.need_rate)
			converter_look_ahead(&conv, buf, pos, have);
		if (have - pos < sizeof(h)) {
			fprintf(err, "%s: truncated at offset %" PRIu64 ": %zu bytes of a record header\n",
				name, offset, have - pos);
			return -ENODATA;
		}
		memcpy(&h, buf + pos, sizeof(h));
		if (h.size < sizeof(h) || h.size > LOG_RECORD_MAX) {
			fprintf(err, "%s: corrupt record at offset %" PRIu64 " (size %u)\n", name,
				offset, h.size);
			return -EBADMSG;
		}
		if (have - pos < h.size) {
			fprintf(err,
				"%s: truncated at offset %" PRIu64 ": the last record has %zu of its %u bytes\n",
				name, offset, have - pos, h.size);
			return -ENODATA;
		}
		if (decode_record(buf + pos, &conv, out, text, LOG_RECORD_MAX + 256) < 0) {
			fprintf(err, "%s: corrupt record at offset %" PRIu64 "\n", name, offset);
			return -EBADMSG;
		}
		pos += h.size;
		offset += h.size;
	}
}
