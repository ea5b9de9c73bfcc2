/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Output files of the image tool. A path that is absent or a regular file
 * is written under a temporary name in the same directory and renamed
 * into place by crit_out_commit(), so that a failed command does not
 * leave half a file; anything else (a symlink such as /dev/stdout, a
 * FIFO, a device) is opened and written directly. NULL or "-" is stdout.
 */

#include <stdbool.h>
#include <stddef.h>

struct crit_out {
	int fd;
	const char *path; /* NULL for stdout */
	char *tmp_path;   /* NULL when writing in place */
};

/* Whether path is written through a temporary file and a rename. */
bool crit_out_is_replaceable(const char *path);

int crit_out_open(const char *path, struct crit_out *ret_out);
/* Write all of buf (logged on failure). */
int crit_out_write(struct crit_out *o, const void *buf, size_t len);
/* Close (or leave stdout open) and rename into place. */
int crit_out_commit(struct crit_out *o);
/* Close and remove the temporary file; safe after commit. */
void crit_out_abort(struct crit_out *o);
