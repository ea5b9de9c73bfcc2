/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * `stasis dump`: checkpoint a process into a directory of CRIU-format images,
 * with no parasite. The task is frozen with ptrace, read from outside
 * (/proc, process_vm_readv, PTRACE_GETREGSET) and through single remote
 * syscalls, then killed (or left running with leave_running).
 *
 * A dump that fails at any step leaves the task running exactly as it was:
 * every step only reads, and rsys puts registers, code and signals back.
 */

#include <stdbool.h>
#include <sys/types.h>

struct dump_opts {
	pid_t pid;              /* -t */
	const char *images_dir; /* -D */
	bool leave_running;     /* -R */
	bool shell_job;         /* -j: the task may keep a terminal on its stdio */
	bool ext_unix_sk;       /* --ext-unix-sk: unix peers outside the tree, named, allowed */
	bool file_locks; /* --file-locks: file locks dumped (else a task holding one is refused) */
	/*
	 * Fault injection for tests: fail at step N (1-based) as if it had
	 * failed for real; 0 for none. Set from STASIS_FAIL_STEP by the CLI.
	 */
	int fail_step;
};

/* 0, or a negative errno after saying what failed on the log. */
int stasis_dump(const struct dump_opts *opts);

/* The names of the steps, for fault injection tests (NULL past the last). */
const char *stasis_dump_step_name(int step);
