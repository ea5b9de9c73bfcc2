/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cli/options.h"

/* Each command returns the process exit status. */
int cmd_check(const struct cli_opts *opts);
int cmd_dump(const struct cli_opts *opts);
int cmd_predump(const struct cli_opts *opts);
int cmd_restore(const struct cli_opts *opts);

/*
 * The test hook STASIS_TRACK_WITH (unset or "auto", "soft-dirty", "none",
 * "soft-dirty-unchecked"): an enum dump_track_with, or -1 after saying the
 * value is not one of them.
 */
int track_with_from_env(void);

/* --display-stats */
void display_dump_stats(const char *images_dir);
void display_restore_stats(const char *images_dir);

/* Tool groups with their own argument parsing: argv[0] is the group's word. */
int cmd_log(int argc, char **argv);
int cmd_image(int argc, char **argv);
