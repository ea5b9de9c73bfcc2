/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the image library's unit tests. */

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"

/* CRIU 4.2's images: $FIXTURES, or the path meson gave at build time. */
static inline const char *fixtures_dir(void)
{
	const char *env = getenv("FIXTURES");

	return env && *env ? env : STASIS_FIXTURES_DIR;
}

static inline char *fixture_path(const char *fmt, ...) _printf_(1, 2);
static inline char *fixture_path(const char *fmt, ...)
{
	char *rel, *p;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&p, "%s/%s", fixtures_dir(), rel) < 0)
		abort();
	free(rel);
	return p;
}

/* Read a whole file; NULL if it cannot be read. */
static inline uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

static inline void spew(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static inline char *scratch_dir(void)
{
	char tmpl[] = "/tmp/stasis-image-test.XXXXXX";

	if (!mkdtemp(tmpl))
		abort();
	return strdup(tmpl);
}

static inline void remove_tree(const char *path)
{
	char *cmd;

	if (asprintf(&cmd, "rm -rf '%s'", path) < 0)
		abort();
	if (system(cmd) != 0)
		abort();
	free(cmd);
}

/*
 * Errors go to a text log file that the tests read back, so that they can
 * check what the library told the user.
 */
static inline char *log_capture_start(void)
{
	char tmpl[] = "/tmp/stasis-image-log.XXXXXX";
	int fd = mkstemp(tmpl);
	struct log_config cfg = {
		.format = LOG_FORMAT_TEXT,
		.level = LOGL_WARN,
		.quiet_stderr = true,
	};

	if (fd < 0)
		abort();
	close(fd);
	cfg.path = tmpl;
	if (log_init(&cfg) < 0)
		abort();
	return strdup(tmpl);
}

/* Everything logged since log_capture_start (or the last call), then start afresh. */
static inline char *log_capture_take(const char *path)
{
	struct log_config cfg = {
		.format = LOG_FORMAT_TEXT,
		.level = LOGL_WARN,
		.quiet_stderr = true,
	};
	size_t len = 0;
	uint8_t *buf;
	char *s;

	log_flush();
	buf = slurp(path, &len);
	if (!buf)
		abort();
	s = strndup((char *)buf, len);
	free(buf);
	if (truncate(path, 0) < 0)
		abort();
	cfg.path = path;
	if (log_init(&cfg) < 0)
		abort();
	return s;
}
