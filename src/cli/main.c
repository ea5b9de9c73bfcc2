/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "cli/commands.h"

struct tool_group {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct tool_group tool_groups[] = {
	{ "log", cmd_log },
	{ "image", cmd_image },
};

/* -o FILE is relative to -W, else to -D, as in criu. */
static int log_path(const struct cli_opts *o, char *buf, size_t size, const char **ret)
{
	const char *dir = o->work_dir ? o->work_dir : o->images_dir;

	if (!o->log_file) {
		*ret = NULL;
		return 0;
	}
	if (o->log_file[0] == '/' || streq(o->log_file, "-") || !dir) {
		*ret = o->log_file;
		return 0;
	}
	if ((size_t)snprintf(buf, size, "%s/%s", dir, o->log_file) >= size)
		return -ENAMETOOLONG;
	*ret = buf;
	return 0;
}

static int setup_log(const struct cli_opts *o)
{
	char buf[PATH_MAX];
	struct log_config cfg = { .level = o->log_level };
	int r;

	r = log_path(o, buf, sizeof(buf), &cfg.path);
	if (r < 0)
		return r;
	/* Binary is the default for a log file; text on request. */
	cfg.format = o->log_format_set ? o->log_format : LOG_FORMAT_BINARY;
	if (cfg.path && streq(cfg.path, "-")) {
		cfg.path = "/dev/stderr";
		if (!o->log_format_set)
			cfg.format = LOG_FORMAT_TEXT;
	}
	r = log_init(&cfg);
	if (r < 0)
		fprintf(stderr, "stasis: cannot open log file %s: %s\n", cfg.path, strerror(-r));
	return r;
}

static int run_command(const struct cli_opts *o)
{
	switch (o->command) {
	case CMD_CHECK:
		return cmd_check(o);
	case CMD_DUMP:
		return cmd_dump(o);
	case CMD_PRE_DUMP:
		return cmd_predump(o);
	case CMD_RESTORE:
		return cmd_restore(o);
	default:
		fprintf(stderr, "stasis: command '%s' is not implemented yet\n", o->command_name);
		return 1;
	}
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	int r, status;

	if (argc > 1)
		for (size_t i = 0; i < ELEMENTSOF(tool_groups); i++)
			if (streq(argv[1], tool_groups[i].name))
				return tool_groups[i].run(argc - 1, argv + 1);

	r = cli_parse(argc, argv, &opts);
	if (r > 0)
		return 0;
	if (r < 0)
		return 1;
	if (setup_log(&opts) < 0)
		return 1;
	pr_info("stasis %s: %s", STASIS_VERSION, opts.command_name);
	status = run_command(&opts);
	log_fini();
	return status;
}
