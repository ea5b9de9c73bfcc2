/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The facts only a task can tell, asked with single remote syscalls whose
 * results land in the scratch page (rsys_mmap_scratch) and are read back.
 */

#include <stdint.h>

#include "rsys/rsys.h"

struct remote {
	struct rsys_task *task;
	unsigned long scratch; /* address of the scratch data in the task */
};

#define REMOTE_SCRATCH_SIZE 4096

int remote_open(struct rsys_task *t, struct remote *ret);

/* nr(args) whose result must be >= 0; *ret_result gets it. Logs a failure once. */
int remote_call(struct remote *r, const char *what, long nr, unsigned long a0, unsigned long a1,
		unsigned long a2, unsigned long a3, long *ret_result);

/* Run nr with the scratch address as argument number `arg`, then read len bytes of it. */
int remote_call_out(struct remote *r, const char *what, long nr, const unsigned long args[6],
		    int arg, void *out, size_t len);
