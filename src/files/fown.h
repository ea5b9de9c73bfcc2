/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The owner of an open file description (fcntl F_SETOWN_EX, F_SETSIG): who
 * gets SIGIO (or the signal F_SETSIG chose) for O_ASYNC, and SIGURG, with
 * the uid and euid of whoever set the owner (the kernel checks them before
 * it signals). CRIU's fown_entry: uid, euid, signum, pid_type
 * (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP), pid (0: no owner).
 */

#include <stdbool.h>

#include "fdinfo.pb-c.h"

/* What every kind's entry has: its owner and its status flags. */
struct file_common {
	FownEntry *fown; /* NULL in an image that lacks it */
	uint32_t flags;
};

/*
 * The owner and status flags of a file entry of any kind; false for a kind
 * that has none (a FIFO's are in the REG entry its regf_id names).
 */
bool file_entry_common(const FileEntry *fe, struct file_common *ret);

/* The owner of the description fd refers to, into fown; logs. */
int fown_read(int fd, const char *label, FownEntry *fown);

/*
 * Give the description fd refers to the signal and owner of fown. The
 * kernel records the caller's uid and euid with the owner: this thread
 * takes fown's for the call (so the caller must be root); logs.
 */
int fown_apply(int fd, const FownEntry *fown, const char *label);
