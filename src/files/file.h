/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every kind of file object shares: the status flags of an open file
 * description, set again at restore.
 */

#include <fcntl.h>
#include <stdint.h>

/* The file status flags F_SETFL can set on an open file description. */
#define FILE_SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_NOATIME)

/*
 * Set the status flags of fd's description to those of flags (FILE_SETFL_MASK)
 * but O_ASYNC, which the task sets itself at restore (restore/fown.c); logs.
 */
int file_set_flags(int fd, uint32_t flags, const char *label);
