/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `stasis dump -t PID -D DIR [-R] [-j]`: the command line of src/dump. */
#include <limits.h>

#include "cli/commands.h"
#include "dump/dump.h"

/* A number from the environment, 0 if unset: hooks for tests (docs/testing.md). */
static uint64_t env_number(const char *name)
{
	const char *s = getenv(name);

	return s ? strtoull(s, NULL, 10) : 0;
}

int cmd_dump(const struct cli_opts *o)
{
	int with = track_with_from_env();
	struct dump_opts d = {
		.pid = o->pid,
		.images_dir = o->images_dir,
		.leave_running = o->leave_running,
		.shell_job = o->shell_job,
		.ext_unix_sk = o->ext_unix_sk,
		.track_mem = o->track_mem,
		.prev_images_dir = o->prev_images_dir,
		.file_locks = o->file_locks,
		.ghost_limit = o->ghost_limit,
		.snapshot = o->snapshot,
		.auto_dedup = o->auto_dedup,
		.fail_step = (int)env_number("STASIS_FAIL_STEP"),
		.splice_min_kib = env_number("STASIS_SPLICE_MIN_KIB"),
		.reap_min_kib = env_number("STASIS_REAP_MIN_KIB"),
		.snapshot_pause_ms = (unsigned)env_number("STASIS_SNAPSHOT_PAUSE_MS"),
		.track_with = (enum dump_track_with)with,
	};
	const struct dump_iter_opts it = {
		.max_iterations = o->max_iterations,
		.target_frozen_ms = (unsigned)o->target_frozen_ms,
	};
	int r;

	if (!o->pid || !o->images_dir) {
		fprintf(stderr, "stasis dump: -t PID and -D DIR are required\n");
		return 1;
	}
	if (with < 0)
		return 1;
	if (o->track_mem && !o->prev_images_dir) {
		fprintf(stderr,
			"stasis dump: --track-mem needs --prev-images-dir (the pre-dump)\n");
		return 1;
	}
	if (o->iterative && (o->track_mem || o->prev_images_dir)) {
		fprintf(stderr, "stasis dump: --iterative makes its own pre-dumps; it takes no "
				"--track-mem nor --prev-images-dir\n");
		return 1;
	}
	if ((o->max_iterations || o->target_frozen_ms) && !o->iterative) {
		fprintf(stderr, "stasis dump: --max-iterations and --target-frozen-ms go with "
				"--iterative\n");
		return 1;
	}
	if (o->snapshot &&
	    (!o->leave_running || o->iterative || o->track_mem || o->prev_images_dir)) {
		fprintf(stderr, "stasis dump: --snapshot goes with -R, alone (no --iterative, "
				"--track-mem, --prev-images-dir)\n");
		return 1;
	}
	r = o->iterative ? stasis_dump_iterative(&d, &it) : stasis_dump(&d);
	if (r < 0) {
		fprintf(stderr, "stasis dump: failed; the log has the details%s\n",
			o->log_file ? "" : " (run with -v4 -o dump.log for more)");
		return 1;
	}
	if (o->display_stats)
		display_dump_stats(o->images_dir);
	return 0;
}
