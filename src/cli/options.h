/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/log.h"

/*
 * criu-style command line: options may stand anywhere around the command
 * word (`stasis -v4 dump -t 1 -D d` and `stasis dump -D d -t 1 -v4` are the
 * same). The result is a plain struct handed to the command; nothing below
 * the command line reads it.
 */

enum cli_command {
	CMD_NONE,
	CMD_CHECK,
	CMD_DUMP,
	CMD_PRE_DUMP,
	CMD_RESTORE,
	CMD_PAGE_SERVER,
	CMD_LAZY_PAGES,
	_CMD_MAX,
};

struct cli_opts {
	enum cli_command command;
	const char *command_name;
	char **args; /* words after the command */
	int nargs;

	const char *log_file;         /* -o */
	int log_level;                /* -v */
	enum log_format log_format;   /* --log-format */
	bool log_format_set;
	const char *images_dir;       /* -D */
	const char *work_dir;         /* -W */
	const char *features[16];     /* check --feature, repeatable */
	int nfeatures;
	bool extra;                   /* check --extra */
	bool all;                     /* check --all */
	pid_t pid;                    /* dump -t */
	bool leave_running;           /* dump -R */
	bool shell_job;               /* -j */
	bool file_locks;              /* --file-locks */
	uint64_t ghost_limit;         /* --ghost-limit, bytes; 0: the default */
	bool ext_unix_sk;             /* dump --ext-unix-sk */
	bool display_stats;           /* --display-stats */
	bool restore_detached;        /* restore -d */
	const char *pidfile;          /* restore --pidfile */
	bool track_mem;               /* dump --track-mem */
	const char *prev_images_dir;  /* --prev-images-dir */
	bool cancel;                  /* pre-dump --cancel */
	bool iterative;               /* dump --iterative */
	bool snapshot;                /* dump --snapshot */
	bool auto_dedup;              /* dump, pre-dump --auto-dedup */
	int max_iterations;           /* --max-iterations */
	int target_frozen_ms;         /* --target-frozen-ms */
};

/* Parse argv into opts. Returns 0, 1 if --help/--version was served, -EINVAL on bad usage. */
int cli_parse(int argc, char **argv, struct cli_opts *ret_opts);
void cli_usage(FILE *out);
const char *cli_command_name(enum cli_command cmd);
