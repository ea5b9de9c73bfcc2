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

static int check_header(int fd, FILE *err, const char *name)
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
	return 0;
}

/* Format one record; -EBADMSG if it is not a record of this build. */
static int decode_record(const uint8_t *rec, FILE *out, char *text, size_t text_size)
{
	struct log_record_hdr h;
	uint32_t id;
	int n;

	memcpy(&h, rec, sizeof(h));
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
	bool eof = false;
	int r;

	if (!buf || !text)
		return -ENOMEM;
	r = check_header(in_fd, err, name);
	if (r < 0)
		return r;
	for (;;) {
		struct log_record_hdr h;

		if (have - pos < LOG_RECORD_MAX && !eof) {
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
		if (decode_record(buf + pos, out, text, LOG_RECORD_MAX + 256) < 0) {
			fprintf(err, "%s: corrupt record at offset %" PRIu64 "\n", name, offset);
			return -EBADMSG;
		}
		pos += h.size;
		offset += h.size;
	}
}
