/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Binary-capable logging.
 *
 * Every pr_*() call site owns a static `struct log_site` placed in the
 * "stasis_log_sites" ELF section; its index in that section is the record's
 * format id. In binary mode the hot path never formats: it copies the raw
 * arguments (strings by value) after a small header into a buffer that is
 * written to the log in large blocks. `stasis log decode` walks the records
 * and formats them with the same code the text mode uses, so both give the
 * same bytes. A log carries a build id (a hash of every site), so a log from
 * another build is refused instead of being decoded into nonsense.
 *
 * Errors and warnings are also printed as text on stderr at once.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/macro.h"

enum log_level {
	LOGL_MSG = 0, /* always logged */
	LOGL_ERROR = 1,
	LOGL_WARN = 2,
	LOGL_INFO = 3,
	LOGL_DEBUG = 4,
};

#define LOG_DEFAULT_LEVEL LOGL_WARN

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_BINARY,
};

/* Maximum number of conversions a format may hold. */
#define LOG_MAX_ARGS 16

struct log_site {
	const char *fmt;
	const char *file;
	uint32_t line;
	uint8_t level;
	uint8_t perror; /* append ": strerror(errno)" */
	/* Filled once, at the first use of the site: the argument kinds. */
	uint8_t nargs;
	uint8_t parsed; /* 0 not yet, 1 ok, 2 format not supported: log as text */
	uint8_t kinds[LOG_MAX_ARGS];
} __attribute__((aligned(32)));

struct log_config {
	const char *path;          /* NULL: no log file (stderr only) */
	enum log_format format;    /* for path */
	int level;                 /* LOGL_* */
	uint64_t (*clock)(void);   /* ns, monotonic; NULL: CLOCK_MONOTONIC (tests inject one) */
	bool quiet_stderr;         /* do not echo errors and warnings to stderr */
};

/* 0 or -errno. Can be called again to switch files; the old one is flushed. */
int log_init(const struct log_config *cfg);
/* Flush buffered records; called at exit and before anything that could crash. */
void log_flush(void);
void log_fini(void);

extern int log_level_current;
static inline int log_get_level(void)
{
	return log_level_current;
}

void log_emit(struct log_site *site, const char *fmt, ...) _printf_(2, 3);

/*
 * Turn a binary log read from in_fd into the text a text-mode log would hold,
 * written to out; what is wrong with the log is said on err, naming it by
 * name. Returns 0, -EPROTO for a log of another build or not a log, -EBADMSG
 * for a corrupt record, -ENODATA if the tail was truncated (everything before
 * it was written).
 */
int log_decode(int in_fd, FILE *out, FILE *err, const char *name);

/* The build id written in every binary log header. */
uint64_t log_build_id(void);

#define log_at(lvl, perr, format_, ...)                                                                \
	do {                                                                                       \
		static struct log_site _log_site                                                   \
			__attribute__((section("stasis_log_sites"), used)) = {                     \
				.fmt = format_,                                                        \
				.file = __FILE__,                                                  \
				.line = __LINE__,                                                  \
				.level = (lvl),                                                    \
				.perror = (perr),                                                  \
			};                                                                         \
		if ((lvl) <= log_get_level())                                                      \
			log_emit(&_log_site, format_, ##__VA_ARGS__);                                  \
	} while (0)

#define pr_msg(fmt, ...) log_at(LOGL_MSG, 0, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...) log_at(LOGL_ERROR, 0, fmt, ##__VA_ARGS__)
#define pr_perror(fmt, ...) log_at(LOGL_ERROR, 1, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_at(LOGL_WARN, 0, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_at(LOGL_INFO, 0, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_at(LOGL_DEBUG, 0, fmt, ##__VA_ARGS__)
