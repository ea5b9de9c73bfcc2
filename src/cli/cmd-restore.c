/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `stasis restore [-D DIR] [-d] [--pidfile FILE] [-j]`: the command line of
 * src/restore. Without -d, stasis stays the restored task's parent, waits for
 * it and exits with its status, as criu does.
 */
#include "cli/commands.h"
#include "restore/restore.h"

int cmd_restore(const struct cli_opts *o)
{
	struct restore_opts ro = {
		.images_dir = o->images_dir ? o->images_dir : ".",
		.detach = o->restore_detached,
		.pidfile = o->pidfile,
		.shell_job = o->shell_job,
	};
	struct restore_result res;
	int status;

	if (o->nargs) {
		fprintf(stderr, "stasis restore: unexpected argument '%s'\n", o->args[0]);
		return 1;
	}
	if (restore_run(&ro, &res) < 0) {
		fprintf(stderr, "stasis restore: failed; nothing was left running%s\n",
			o->log_file ? "" : " (run with -v4 -o restore.log for more)");
		return 1;
	}
	if (o->display_stats)
		display_restore_stats(ro.images_dir);
	if (ro.detach)
		return 0;
	if (restore_wait(res.pid, &status) < 0)
		return 1;
	return status;
}
