/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * System calls made by the task being restored (rsys), and the scratch area
 * that carries their in-memory arguments.
 */

#include "restore/internal.h"

long rst_remote(struct rst_ctx *c, long nr, const unsigned long args[6])
{
	long res;
	int r;

	/* A call that could not be run fails like one that ran and failed (rsys said why). */
	r = rsys_syscall(c->cur, nr, args, &res);
	return r < 0 ? r : res;
}

int rst_scratch_put(struct rst_ctx *c, size_t off, const void *data, size_t len,
		    unsigned long *ret_addr)
{
	int r;

	if (off > c->scratch_size || len > c->scratch_size - off) {
		rst_err(c, "%zu bytes at offset %zu do not fit the scratch area (%zu bytes)", len,
			off, c->scratch_size);
		return -E2BIG;
	}
	r = rsys_write_mem(c->cur, c->scratch + off, data, len);
	if (r < 0)
		return r;
	*ret_addr = c->scratch + off;
	return 0;
}
