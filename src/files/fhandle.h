/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The file handles of fsnotify marks (inotify watches, fanotify inode
 * marks): fdinfo shows the watched inode as
 *
 *   ino:35d sdev:fe00000 ... fhandle-bytes:8 fhandle-type:1 f_handle:5d03000000000000
 *
 * (hex; sdev in the kernel's encoding). The dump keeps the handle and the
 * path of the inode, found by opening the handle on a mount of the task on
 * that device and reading the link of the result (CRIU's fh_entry); the
 * restore marks the inode again by that path, after checking its inode.
 */

#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"
#include "fh.pb-c.h"

/* The handle of an fdinfo line ("... fhandle-bytes:8 fhandle-type:1 f_handle:..."), in a. */
int fhandle_from_fdinfo(const char *line, struct arena *a, FhEntry **ret_fh);

/*
 * Fill fh->path with the path of the inode ino on device sdev that fh
 * names, through a mount of task pid. The path must lead to that inode in
 * this mount namespace, or -ENOTSUP (deleted, another mount namespace).
 * `what` names the mark in messages ("watch 3").
 */
int fhandle_find_path(pid_t pid, uint32_t sdev, uint64_t ino, FhEntry *fh, struct arena *a,
		      const char *label, const char *what);

/*
 * The path of the mark's inode at restore: fh's path, checked to lead
 * (lstat: not following a last symbolic link) to inode ino; logs.
 */
int fhandle_restore_path(const FhEntry *fh, uint64_t ino, const char *label, const char *what,
			 const char **ret_path);
