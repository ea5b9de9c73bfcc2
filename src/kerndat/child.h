/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helper processes for the probes that need a second process. A child dies
 * with its parent (PR_SET_PDEATHSIG) and probe_child_stop() kills and reaps
 * it; declare it with _cleanup_probe_child_ so that every return path does.
 *
 * Children never log and leave with _exit(): they share the parent's log
 * buffers and stdio, which must be written once, by the parent.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"

struct probe_child {
	pid_t pid; /* 0: none */
};

/*
 * Fork a child that runs setup(arg) (if not NULL; it returns 0 or -errno),
 * reports back, then sleeps until killed. Returns 0 once the child is ready,
 * or -errno (the child is then already reaped).
 */
int probe_child_start(struct probe_child *c, int (*setup)(void *arg), void *arg);

/* Kill the child (if any) and reap it. Safe to call twice. */
void probe_child_stop(struct probe_child *c);

#define _cleanup_probe_child_ _cleanup_(probe_child_stop)

/*
 * Run fn(arg) in a child and return its probe result (1, 0 or -errno), for
 * probes that change the state of the process that runs them (unshare ...).
 */
int probe_in_child(int (*fn)(void *arg), void *arg);

/* A probe result carried in an exit status: 1 → 0, 0 → 1, -errno → 2 + errno. */
int probe_result_to_exit_code(int result);
/* The probe result of a child's wait status. */
int probe_result_from_wait_status(int wstatus);

/* waitpid() that retries on EINTR; waits for an exit (not a stop) of a traced child too. */
int probe_wait_exit(pid_t pid, int *ret_wstatus);
