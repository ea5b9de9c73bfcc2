/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pipes: the mechanics that dump and restore share (docs/dump.md and
 * docs/restore.md, "Pipes"). The dump copies what a pipe holds without
 * taking it out, so that a dump that fails, or one made with -R, leaves the
 * pipe as it was; the restore makes a pipe that holds it again.
 *
 * Every function logs its failure once, naming `label` (the caller's name
 * for the pipe: "pid 42 fd 3 (pipe:[1234])"), and returns a negative errno.
 */

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a pipe holds. */
struct pipe_contents {
	uint8_t *data; /* malloc'ed; NULL when the pipe is empty */
	size_t len;
	uint32_t size; /* the pipe's buffer size (F_GETPIPE_SZ) */
};

void pipe_contents_done(struct pipe_contents *c);

/*
 * A readable fd, in the caller, on the pipe of which fd `fd` of task pid
 * (pidfd: a pidfd of it) is an end: the task's own open file description
 * (pidfd_getfd) when accmode (its O_ACCMODE) can read, else a new read-only
 * description opened through /proc/PID/fd/FD, non-blocking. Close-on-exec.
 */
int pipe_open_reader(int pidfd, pid_t pid, int fd, int accmode, const char *label);

/*
 * A pipe of the caller's that the bytes of other pipes are copied through,
 * one pipe after the other: made on first use, grown when a bigger pipe
 * comes, empty between uses. One per batch of peeks saves a pipe per pipe.
 */
struct pipe_copier {
	int ends[2];
	int size;
};
#define PIPE_COPIER_INIT           \
	{                          \
		.ends = { -1, -1 } \
	}
void pipe_copier_done(struct pipe_copier *cp);

/*
 * Copy the bytes queued in the pipe that rfd reads, in order, without taking
 * them out: tee(2) into the copier's pipe, then read from that one.
 */
int pipe_peek(struct pipe_copier *cp, int rfd, const char *label, struct pipe_contents *ret);

/*
 * Give the pipe that the non-blocking wfd writes a buffer of size bytes (0:
 * leave it) and write data into it; -ENOSPC if it does not fit.
 */
int pipe_fill(int wfd, uint32_t size, const void *data, size_t len, const char *label);

/*
 * A new pipe with a buffer of size bytes (0: the kernel's default) that
 * holds data: ret_ends[0] reads, ret_ends[1] writes; both close-on-exec and
 * blocking. The size cannot go above fs.pipe-max-size without
 * CAP_SYS_RESOURCE.
 */
int pipe_make(uint32_t size, const void *data, size_t len, const char *label, int ret_ends[2]);

/*
 * Another open file description of the pipe that `end` is an end of
 * (through /proc/self/fd), with the access mode and status flags of flags.
 * Close-on-exec.
 */
int pipe_reopen(int end, uint32_t flags, const char *label);
