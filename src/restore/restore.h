/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Restore (docs/restore.md): bring back the tree of processes of a
 * directory of CRIU-format images, every process and thread with its old
 * pid, driven from outside over ptrace. What the images hold that this
 * restore does not handle is refused by name before anything is created.
 */

#include <stdbool.h>
#include <sys/types.h>

struct restore_opts {
	const char *images_dir; /* -D */
	bool detach;            /* -d: do not wait for the restored task */
	const char *pidfile;    /* --pidfile: the restored task's pid is written there */
	/*
	 * -j: the task was a shell job. Its session and process group, if
	 * they are not its own, become those of the caller instead of being
	 * refused.
	 */
	bool shell_job;
};

struct restore_result {
	pid_t pid; /* the restored tree's root, a child of the caller, running */
};

/*
 * Restore the tree of opts->images_dir. On success it runs, detached from
 * ptrace, its root a child of the caller; stats-restore is written in the
 * images directory. On failure everything that was created is killed and
 * reaped (the caller is a child subreaper meanwhile), the reason was
 * logged, and a negative errno is returned.
 */
int restore_run(const struct restore_opts *opts, struct restore_result *ret_result);

/*
 * Wait for the restored task to end. *ret_status is its exit status, or
 * 128 + the signal that killed it (as a shell reports it).
 */
int restore_wait(pid_t pid, int *ret_status);
