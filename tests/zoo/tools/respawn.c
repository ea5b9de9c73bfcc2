/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zoo-respawn PID PROG ARGS...: start PROG as process PID (clone3 with
 * set_tid; PID 0 takes any pid), in a session of its own, and exit without
 * waiting for it. The harness tests use it to fake a restore: a fresh program
 * detached under its old pid, as `stasis restore -d` leaves a restored one.
 */
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t want;
	struct clone_args args = {.exit_signal = SIGCHLD};
	long pid;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PID PROG [ARGS...]\n", argv[0]);
		return 2;
	}
	want = (pid_t)atoi(argv[1]);
	if (want > 0) {
		args.set_tid = (uintptr_t)&want;
		args.set_tid_size = 1;
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		fprintf(stderr, "%s: clone3 as pid %d: %m\n", argv[0], (int)want);
		return 1;
	}
	if (pid == 0) {
		setsid();
		execv(argv[2], argv + 2);
		_exit(127);
	}
	printf("%ld\n", pid);
	return 0;
}
