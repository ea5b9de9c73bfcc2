/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Secrets for `stasis image anonymize` and a known stack for `stasis image
 * core` (tests/suites/image-anon.sh, image-core.sh): a string in heap
 * memory, an open file with a telling name, a process name, unread data in
 * a pipe. The program waits in hold_secrets(), a function of its own that
 * gdb must find in the backtrace of a core file made from the images. The
 * suites know the secrets by these names:
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zoo.h"

#define SECRET_MEMORY "stasis-secret-in-memory-9f2d"
#define SECRET_FILE "stasis-secret-file-7q3x"
#define SECRET_COMM "secret-comm-k4z" /* 15 bytes: a whole comm */
#define SECRET_PIPE "stasis-secret-in-a-pipe-m2v8"

static char *memory;
static int file_fd = -1;
static int pipe_fds[2];

static void setup(void)
{
	char path[PATH_MAX];

	memory = malloc(4096);
	if (!memory)
		zoo_setup_failed("malloc: %m");
	strcpy(memory, SECRET_MEMORY);
	zoo_path(path, sizeof(path), SECRET_FILE);
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0)
		zoo_setup_failed("open %s: %m", path);
	if (prctl(PR_SET_NAME, SECRET_COMM) < 0)
		zoo_setup_failed("PR_SET_NAME: %m");
	if (pipe(pipe_fds) || write(pipe_fds[1], SECRET_PIPE, strlen(SECRET_PIPE)) < 0)
		zoo_setup_failed("pipe: %m");
}

/* gdb must show this frame in the core file made from the images. */
__attribute__((noinline)) static void hold_secrets(void)
{
	while (!zoo_terminated())
		zoo_sleep_ms(10);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep the frame */
}

static void check(void)
{
	char comm[17] = "", link[64], target[PATH_MAX] = "", got[64] = "";
	ssize_t n;
	int queued = -1;

	zoo_expect(!strcmp(memory, SECRET_MEMORY), "the memory holds '%.40s'", memory);
	prctl(PR_GET_NAME, comm);
	zoo_expect(!strcmp(comm, SECRET_COMM), "the name is '%s', not '%s'", comm, SECRET_COMM);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", file_fd);
	n = readlink(link, target, sizeof(target) - 1);
	zoo_expect(n > 0 && strstr(target, "/" SECRET_FILE), "fd %d is '%s', not the secret file",
		   file_fd, n > 0 ? target : "(closed)");
	ioctl(pipe_fds[0], FIONREAD, &queued);
	zoo_expect(queued == (int)strlen(SECRET_PIPE), "%d bytes in the pipe, not %zu", queued,
		   strlen(SECRET_PIPE));
	if (queued > 0 && queued < (int)sizeof(got)) {
		n = read(pipe_fds[0], got, (size_t)queued);
		zoo_expect(n == queued && !memcmp(got, SECRET_PIPE, (size_t)queued),
			   "the pipe holds '%s'", got);
	}
}

static void break_comm(void)
{
	prctl(PR_SET_NAME, "renamed");
}

static void break_pipe(void)
{
	char buf[64];

	if (read(pipe_fds[0], buf, sizeof(buf)) < 0)
		zoo_fail("cannot drain the pipe: %m");
}

static void break_memory(void)
{
	memory[0] ^= 1;
}

static void break_file(void)
{
	close(file_fd);
}

static const struct zoo_break breaks[] = {
	{"the process is renamed", break_comm},
	{"the pipe is drained", break_pipe},
	{"the secret in memory changes", break_memory},
	{"the secret file is closed", break_file},
};

static const struct zoo_desc desc = {
	.requires = "pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	hold_secrets();
	check();
	return zoo_verdict();
}
