/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `stasis pre-dump -t PID -D DIR [--prev-images-dir PREV]`, `pre-dump --cancel -D DIR`. */
#include "cli/commands.h"
#include "dump/dump.h"

int track_with_from_env(void)
{
	const char *s = getenv("STASIS_TRACK_WITH");

	if (!s || streq(s, "") || streq(s, "auto"))
		return DUMP_TRACK_AUTO;
	if (streq(s, "soft-dirty"))
		return DUMP_TRACK_SOFT_DIRTY;
	if (streq(s, "none"))
		return DUMP_TRACK_NONE;
	if (streq(s, "soft-dirty-unchecked"))
		return DUMP_TRACK_SOFT_DIRTY_UNCHECKED;
	fprintf(stderr,
		"stasis: STASIS_TRACK_WITH=%s: not auto, soft-dirty, none nor "
		"soft-dirty-unchecked\n",
		s);
	return -1;
}

int cmd_predump(const struct cli_opts *o)
{
	int with = track_with_from_env();
	struct dump_opts d = {
		.pid = o->pid,
		.images_dir = o->images_dir,
		.pre_dump = true,
		.prev_images_dir = o->prev_images_dir,
		.auto_dedup = o->auto_dedup,
		.track_with = (enum dump_track_with)with,
	};

	if (o->cancel) {
		if (!o->images_dir || o->pid) {
			fprintf(stderr, "stasis pre-dump: --cancel takes -D DIR only\n");
			return 1;
		}
		return stasis_predump_cancel(o->images_dir) < 0 ? 1 : 0;
	}
	if (!o->pid || !o->images_dir) {
		fprintf(stderr, "stasis pre-dump: -t PID and -D DIR are required\n");
		return 1;
	}
	if (with < 0)
		return 1;
	if (stasis_dump(&d) < 0) {
		fprintf(stderr, "stasis pre-dump: failed; the log has the details%s\n",
			o->log_file ? "" : " (run with -v4 -o pre-dump.log for more)");
		return 1;
	}
	return 0;
}
