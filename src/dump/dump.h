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

/*
 * How a pre-dump watches the writes of a process it starts tracking
 * (docs/predump.md "Without WP_ASYNC"). Forcing one is a test hook
 * (STASIS_TRACK_WITH).
 */
enum dump_track_with {
	DUMP_TRACK_AUTO,       /* userfaultfd WP_ASYNC, else soft-dirty bits, else none (warned) */
	DUMP_TRACK_SOFT_DIRTY, /* soft-dirty bits, else none (warned) */
	DUMP_TRACK_NONE,       /* none, as on a kernel with neither (warned) */
	/*
	 * Soft-dirty bits even where the kernel has none (warned): for tests of
	 * the plumbing with a program that writes nothing between rounds; the
	 * images miss the pages written between rounds on such a kernel.
	 */
	DUMP_TRACK_SOFT_DIRTY_UNCHECKED,
};

struct dump_opts {
	pid_t pid;              /* -t */
	const char *images_dir; /* -D */
	bool leave_running;     /* -R */
	bool shell_job;         /* -j: the task may keep a terminal on its stdio */
	bool ext_unix_sk;       /* --ext-unix-sk: unix peers outside the tree, named, allowed */
	/* docs/predump.md */
	bool pre_dump;               /* memory only, the tree runs on; tracking armed */
	bool track_mem;              /* --track-mem: save what changed since prev_images_dir */
	const char *prev_images_dir; /* --prev-images-dir, relative to images_dir */
	bool snapshot;               /* --snapshot (with -R): memory copied after the freeze */
	bool auto_dedup;             /* --auto-dedup: pages saved again punched out of parents */
	/* Rounds in one process (stasis_dump_iterative): the tracking goes from round to
	 * round here, owned by the caller; NULL: from and to a holder process. */
	struct dump_tracking *tracking;
	enum dump_track_with track_with; /* set from STASIS_TRACK_WITH by the CLI, for tests */
	bool file_locks; /* --file-locks: file locks dumped (else a task holding one is refused) */
	/* --ghost-limit: the largest deleted file whose content is saved; 0: the default */
	uint64_t ghost_limit;
	/*
	 * Private memory (resident KiB) from which a process's pages are
	 * vmspliced by the task rather than read with process_vm_readv (the
	 * pipes cost a few remote syscalls); 0: DUMP_SPLICE_MIN_KIB_DEFAULT.
	 * Set from STASIS_SPLICE_MIN_KIB by the CLI, for tests.
	 */
	uint64_t splice_min_kib;
	/*
	 * Memory (resident KiB) from which a process killed after the dump is
	 * given a last call and its memory freed from our side too (dump/kill.c);
	 * 0: DUMP_REAP_MIN_KIB_DEFAULT. Set from STASIS_REAP_MIN_KIB by the CLI, for tests.
	 */
	uint64_t reap_min_kib;
	/*
	 * Fault injection for tests: fail at step N (1-based) as if it had
	 * failed for real; 0 for none. Set from STASIS_FAIL_STEP by the CLI.
	 */
	int fail_step;
	/* Tests only (STASIS_SNAPSHOT_PAUSE_MS): a snapshot waits this long between arming and
	 * the freeze, and again before its background copy (writes served meanwhile), so that
	 * the tree surely changes in both. */
	unsigned snapshot_pause_ms;
};

#define DUMP_GHOST_LIMIT_DEFAULT (1024 * 1024) /* criu's */
#define DUMP_SPLICE_MIN_KIB_DEFAULT (16 * 1024)
#define DUMP_REAP_MIN_KIB_DEFAULT (64 * 1024) /* freed in 1.5 ms: not worth a last call */

/* 0, or a negative errno after saying what failed on the log. */
int stasis_dump(const struct dump_opts *opts);

/* `stasis dump --iterative`: pre-dump rounds, then the final dump (docs/predump.md). */
struct dump_iter_opts {
	int max_iterations;        /* rounds of pre-dump at most; 0: DUMP_ITER_DEFAULT_ROUNDS */
	unsigned target_frozen_ms; /* stop once the final dump should copy within this; 0: off */
};
#define DUMP_ITER_DEFAULT_ROUNDS 5
int stasis_dump_iterative(const struct dump_opts *final, const struct dump_iter_opts *it);

/* The tracking of the pre-dumps in images_dir removed (`stasis pre-dump --cancel`). */
int stasis_predump_cancel(const char *images_dir);

/* A tracking set (struct dump_opts.tracking) and its release, which removes the tracking. */
struct dump_tracking;
void dump_tracking_free(struct dump_tracking *trk);

/* The names of the steps, for fault injection tests (NULL past the last). */
const char *stasis_dump_step_name(int step);
