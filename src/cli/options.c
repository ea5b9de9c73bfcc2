/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <limits.h>

#include "cli/options.h"

#define CMD_BIT(c) (1u << (c))
#define ALL_CMDS (~0u)

enum {
	OPT_LOG_FILE = 'o',
	OPT_VERBOSE = 'v',
	OPT_IMAGES_DIR = 'D',
	OPT_WORK_DIR = 'W',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_LONG_BASE = 1000,
	OPT_LOG_FORMAT,
	OPT_FEATURE,
	OPT_EXTRA,
	OPT_ALL,
	OPT_PIDFILE,
	OPT_DISPLAY_STATS,
	OPT_TREE = 't',
	OPT_LEAVE_RUNNING = 'R',
	OPT_SHELL_JOB = 'j',
	OPT_RESTORE_DETACHED = 'd',
	OPT_EXT_UNIX_SK,
	OPT_TRACK_MEM = OPT_LONG_BASE + 100,
	OPT_PREV_IMAGES_DIR,
	OPT_CANCEL,
	OPT_ITERATIVE,
	OPT_SNAPSHOT,
	OPT_AUTO_DEDUP,
	OPT_MAX_ITERATIONS,
	OPT_TARGET_FROZEN_MS,
	OPT_FILE_LOCKS,
	OPT_GHOST_LIMIT,
	OPT_UNSUPPORTED, /* known to criu, not implemented by stasis yet */
};

struct cli_option {
	const char *name;
	int has_arg;
	int id;
	unsigned commands; /* CMD_BIT mask of the commands that accept it */
};

static const struct cli_option cli_options[] = {
	{ "log-file", required_argument, OPT_LOG_FILE, ALL_CMDS },
	{ "verbosity", optional_argument, OPT_VERBOSE, ALL_CMDS },
	{ "log-format", required_argument, OPT_LOG_FORMAT, ALL_CMDS },
	{ "images-dir", required_argument, OPT_IMAGES_DIR, ALL_CMDS },
	{ "work-dir", required_argument, OPT_WORK_DIR, ALL_CMDS },
	{ "help", no_argument, OPT_HELP, ALL_CMDS },
	{ "version", no_argument, OPT_VERSION, ALL_CMDS },
	{ "feature", required_argument, OPT_FEATURE, CMD_BIT(CMD_CHECK) },
	{ "extra", no_argument, OPT_EXTRA, CMD_BIT(CMD_CHECK) },
	{ "all", no_argument, OPT_ALL, CMD_BIT(CMD_CHECK) },
	/* criu's options that stasis does not implement yet: refused by name. */
	{ "tree", required_argument, OPT_TREE, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_PRE_DUMP) },
	{ "leave-running", no_argument, OPT_LEAVE_RUNNING, CMD_BIT(CMD_DUMP) },
	{ "leave-stopped", no_argument, OPT_UNSUPPORTED, 0 },
	{ "shell-job", no_argument, OPT_SHELL_JOB, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_RESTORE) },
	{ "restore-detached", no_argument, OPT_RESTORE_DETACHED, CMD_BIT(CMD_RESTORE) },
	{ "restore-sibling", no_argument, OPT_UNSUPPORTED, 0 },
	{ "pidfile", required_argument, OPT_PIDFILE, CMD_BIT(CMD_RESTORE) },
	{ "display-stats", no_argument, OPT_DISPLAY_STATS, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_RESTORE) },
	{ "tcp-established", no_argument, OPT_UNSUPPORTED, 0 },
	{ "tcp-close", no_argument, OPT_UNSUPPORTED, 0 },
	{ "ext-unix-sk", optional_argument, OPT_EXT_UNIX_SK, CMD_BIT(CMD_DUMP) },
	{ "file-locks", no_argument, OPT_FILE_LOCKS, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_RESTORE) },
	{ "ghost-limit", required_argument, OPT_GHOST_LIMIT, CMD_BIT(CMD_DUMP) },
	{ "prev-images-dir", required_argument, OPT_PREV_IMAGES_DIR,
	  CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_PRE_DUMP) },
	{ "track-mem", no_argument, OPT_TRACK_MEM, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_PRE_DUMP) },
	{ "cancel", no_argument, OPT_CANCEL, CMD_BIT(CMD_PRE_DUMP) },
	{ "iterative", no_argument, OPT_ITERATIVE, CMD_BIT(CMD_DUMP) },
	{ "snapshot", no_argument, OPT_SNAPSHOT, CMD_BIT(CMD_DUMP) },
	{ "max-iterations", required_argument, OPT_MAX_ITERATIONS, CMD_BIT(CMD_DUMP) },
	{ "target-frozen-ms", required_argument, OPT_TARGET_FROZEN_MS, CMD_BIT(CMD_DUMP) },
	{ "page-server", no_argument, OPT_UNSUPPORTED, 0 },
	{ "address", required_argument, OPT_UNSUPPORTED, 0 },
	{ "port", required_argument, OPT_UNSUPPORTED, 0 },
	{ "lazy-pages", no_argument, OPT_UNSUPPORTED, 0 },
	{ "freeze-cgroup", required_argument, OPT_UNSUPPORTED, 0 },
	{ "manage-cgroups", optional_argument, OPT_UNSUPPORTED, 0 },
	{ "external", required_argument, OPT_UNSUPPORTED, 0 },
	{ "root", required_argument, OPT_UNSUPPORTED, 0 },
	{ "auto-dedup", no_argument, OPT_AUTO_DEDUP, CMD_BIT(CMD_DUMP) | CMD_BIT(CMD_PRE_DUMP) },
	{ "link-remap", no_argument, OPT_UNSUPPORTED, 0 },
	{ "evasive-devices", no_argument, OPT_UNSUPPORTED, 0 },
	{ "cpu-cap", optional_argument, OPT_UNSUPPORTED, 0 },
	{ "network-lock", required_argument, OPT_UNSUPPORTED, 0 },
	{ "skip-in-flight", no_argument, OPT_UNSUPPORTED, 0 },
	{ "timeout", required_argument, OPT_UNSUPPORTED, 0 },
	{ "exec-cmd", no_argument, OPT_UNSUPPORTED, 0 },
	{ "action-script", required_argument, OPT_UNSUPPORTED, 0 },
	{ "stream", no_argument, OPT_UNSUPPORTED, 0 },
};

/* Short options: criu's; those not implemented yet are refused by name. */
static const char short_options[] = "+o:v::D:W:hVt:Rjd";
static const char unsupported_short[] = "";

/* The long name of a short option, to check that it applies to the command. */
static const char *long_name_of(int c)
{
	for (size_t i = 0; i < ELEMENTSOF(cli_options); i++)
		if (cli_options[i].id == c)
			return cli_options[i].name;
	return NULL;
}

static unsigned commands_of(int c)
{
	for (size_t i = 0; i < ELEMENTSOF(cli_options); i++)
		if (cli_options[i].id == c)
			return cli_options[i].commands;
	return ALL_CMDS;
}

static const char *const command_names[_CMD_MAX] = {
	[CMD_CHECK] = "check",
	[CMD_DUMP] = "dump",
	[CMD_PRE_DUMP] = "pre-dump",
	[CMD_RESTORE] = "restore",
	[CMD_PAGE_SERVER] = "page-server",
	[CMD_LAZY_PAGES] = "lazy-pages",
};

/* Commands criu has and stasis will have, but that are not built yet. */
static bool command_is_implemented(enum cli_command cmd)
{
	return cmd == CMD_CHECK || cmd == CMD_DUMP || cmd == CMD_PRE_DUMP || cmd == CMD_RESTORE;
}

const char *cli_command_name(enum cli_command cmd)
{
	return cmd > CMD_NONE && cmd < _CMD_MAX ? command_names[cmd] : "?";
}

static enum cli_command command_from_name(const char *name)
{
	for (int i = CMD_NONE + 1; i < _CMD_MAX; i++)
		if (streq(command_names[i], name))
			return i;
	return CMD_NONE;
}

static const char *const command_help[_CMD_MAX] = {
	[CMD_CHECK] = "Usage: stasis check [--feature NAME]... [--all]\n"
		      "  Probe the kernel features stasis relies on, one line each: present or\n"
		      "  missing, required or optional, and what it enables. Exit 0 if dump and\n"
		      "  restore can work. --feature NAME checks one (repeatable), as criu's.\n",
	[CMD_DUMP] = "Usage: stasis dump -t PID -D DIR [-R] [-j] [-o LOG] [-v4]\n"
		     "  Checkpoint the process tree of PID (all threads) into DIR, then kill it.\n"
		     "  -t, --tree PID          the root of the tree to dump\n"
		     "  -D, --images-dir DIR    where the images go\n"
		     "  -R, --leave-running     let it go on after the dump\n"
		     "  -j, --shell-job         it is a shell's job: its terminal (a pty whose other\n"
		     "                          end is not dumped) is dumped, for a restore with -j\n"
		     "      --file-locks        dump the flock, POSIX and OFD locks it holds\n"
		     "                          (without it, a task holding one is refused)\n"
		     "      --ghost-limit SIZE  the largest file deleted while open whose content\n"
		     "                          is saved (bytes, or with K, M, G; default 1M)\n"
		     "      --ext-unix-sk       allow unix sockets connected to a named socket outside\n"
		     "                          the tree; the restore connects to that name again\n"
		     "      --display-stats     print the dump statistics (stats-dump)\n"
		     "      --track-mem --prev-images-dir PREV\n"
		     "                          save only the memory written since the pre-dump\n"
		     "                          in PREV (relative to DIR): first up to 3 rounds\n"
		     "                          while it runs (DIR/pre-N, pre-1's parent PREV),\n"
		     "                          then frozen; DIR/parent links to the last round\n"
		     "      --iterative         pre-dump rounds into DIR/pre-N while it runs, then\n"
		     "                          the final dump, all in this process\n"
		     "      --max-iterations N  at most N rounds (default 5)\n"
		     "      --target-frozen-ms T  stop the rounds once the rest should take T ms\n"
		     "      --auto-dedup        punch the pages this dump saves again out of the\n"
		     "                          pre-dumps of the chain (restorable sets are kept)\n"
		     "      --snapshot          with -R: frozen only for registers and files; the\n"
		     "                          memory is write-protected before (the tree stopped\n"
		     "                          a moment to make a userfaultfd in each process)\n"
		     "                          and copied while the tree runs, a page about to be\n"
		     "                          written copied first: the images are the state at\n"
		     "                          the freeze\n"
		     "  A dump that fails leaves the process running as it was.\n",
	[CMD_PRE_DUMP] = "Usage: stasis pre-dump -t PID -D DIR [--prev-images-dir PREV] [-o LOG]\n"
			 "       stasis pre-dump --cancel -D DIR\n"
			 "  Save the memory of PID's tree into DIR while it keeps running (frozen\n"
			 "  only to arm dirty tracking and scan). With PREV (relative to DIR), only\n"
			 "  what was written since the pre-dump in PREV. The tracking is held by a\n"
			 "  small process until `stasis dump --track-mem --prev-images-dir DIR`, a\n"
			 "  next pre-dump, or --cancel (which removes it from the tasks).\n"
			 "  -t, --tree PID          the root of the tree\n"
			 "  -D, --images-dir DIR    where the memory images go\n"
			 "      --prev-images-dir PREV  the previous pre-dump\n"
			 "      --track-mem         accepted (pre-dump always tracks)\n"
			 "      --auto-dedup        punch the pages saved again out of PREV's chain\n"
			 "      --cancel            remove the tracking held for DIR\n",
	[CMD_RESTORE] = "Usage: stasis restore -D DIR [-d] [--pidfile FILE] [-o LOG] [-v4]\n"
			"  Bring back the process tree saved in DIR, with its old pids.\n"
			"  -d, --restore-detached  do not wait for it\n"
			"      --pidfile FILE      write its pid to FILE\n"
			"  -j, --shell-job         give a shell job stasis's terminal (its stdin) in\n"
			"                          place of the one it had; it becomes the job's\n"
			"                          controlling terminal, with the job in the foreground\n"
			"      --file-locks        accepted: the locks in the images are always taken\n"
			"      --display-stats     print the restore statistics (stats-restore)\n"
			"  Without -d, exit with its exit status. A failed restore leaves nothing.\n",
};

static void command_usage(enum cli_command cmd, FILE *out)
{
	if (command_help[cmd])
		fputs(command_help[cmd], out);
	else
		cli_usage(out);
}

void cli_usage(FILE *out)
{
	fputs("Usage:\n"
	      "  stasis check [--feature NAME] [--all]   kernel features this host offers\n"
	      "  stasis dump -t PID -D DIR              checkpoint a process tree\n"
	      "  stasis pre-dump -t PID -D DIR          save its memory while it runs\n"
	      "  stasis restore -D DIR [-d]             restore a process (one task for now)\n"
	      "  stasis log decode FILE                 turn a binary log into text\n"
	      "  stasis image COMMAND ...               read and write image files\n"
	      "\n"
	      "Options (criu's names and meaning):\n"
	      "  -o, --log-file FILE      write the log to FILE (in -W DIR, or -D DIR, if relative)\n"
	      "  -v[N], --verbosity[=N]   log level 0..4 (default 2; -v alone adds one)\n"
	      "      --log-format=text|binary   log file format (binary when logging to a file)\n"
	      "  -D, --images-dir DIR     directory of image files\n"
	      "  -W, --work-dir DIR       directory for logs and temporary files\n"
	      "  -V, --version            print the version\n"
	      "  -h, --help               this help; `stasis COMMAND --help` for a command\n",
	      out);
}

static struct option *build_long_options(void)
{
	static struct option longs[ELEMENTSOF(cli_options) + 1];

	for (size_t i = 0; i < ELEMENTSOF(cli_options); i++)
		longs[i] = (struct option){ cli_options[i].name, cli_options[i].has_arg, NULL,
					    OPT_LONG_BASE + (int)i };
	return longs;
}

static int parse_level(const char *arg, int current, int *ret)
{
	char *end;
	long v;

	if (!arg) {
		*ret = MIN(current + 1, LOGL_DEBUG);
		return 0;
	}
	/* -vvv: each v adds one. */
	if (arg[strspn(arg, "v")] == '\0') {
		*ret = MIN(current + 1 + (int)strlen(arg), LOGL_DEBUG);
		return 0;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < 0 || v > LOGL_DEBUG)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int parse_count(const char *opt, const char *arg, long min, long max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < min || v > max) {
		fprintf(stderr, "stasis: %s takes a number from %ld to %ld, not '%s'\n", opt, min,
			max, arg);
		return -EINVAL;
	}
	*ret = (int)v;
	return 0;
}

/* criu's sizes: bytes, or a number with K, M or G (KiB, MiB, GiB) after it; 1 or more. */
static int parse_size(const char *opt, const char *arg, uint64_t *ret)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end && !end[1])
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (errno || end == arg || arg[0] == '-' || (*end && (!shift || end[1])) || v == 0 ||
	    v > (UINT64_MAX >> shift)) {
		fprintf(stderr,
			"stasis: %s takes a size of 1 or more bytes (K, M, G allowed), not '%s'\n",
			opt, arg);
		return -EINVAL;
	}
	*ret = (uint64_t)v << shift;
	return 0;
}

struct seen_option {
	const char *name;
	unsigned commands;
};

static int apply_option(int id, const char *arg, struct cli_opts *o)
{
	switch (id) {
	case OPT_LOG_FILE:
		o->log_file = arg;
		return 0;
	case OPT_VERBOSE:
		if (parse_level(arg, o->log_level, &o->log_level) < 0) {
			fprintf(stderr, "stasis: -v takes a level from 0 to 4, not '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_LOG_FORMAT:
		if (streq(arg, "text"))
			o->log_format = LOG_FORMAT_TEXT;
		else if (streq(arg, "binary"))
			o->log_format = LOG_FORMAT_BINARY;
		else {
			fprintf(stderr, "stasis: --log-format is text or binary, not '%s'\n", arg);
			return -EINVAL;
		}
		o->log_format_set = true;
		return 0;
	case OPT_IMAGES_DIR:
		o->images_dir = arg;
		return 0;
	case OPT_WORK_DIR:
		o->work_dir = arg;
		return 0;
	case OPT_FEATURE:
		if (o->nfeatures >= (int)ELEMENTSOF(o->features)) {
			fprintf(stderr, "stasis: too many --feature options\n");
			return -EINVAL;
		}
		o->features[o->nfeatures++] = arg;
		return 0;
	case OPT_EXTRA:
		o->extra = true;
		return 0;
	case OPT_ALL:
		o->all = true;
		return 0;
	case OPT_TREE: {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(arg, &end, 10);
		if (errno || *end || pid <= 0 || pid > INT_MAX) {
			fprintf(stderr, "stasis: -t takes a process id, not '%s'\n", arg);
			return -EINVAL;
		}
		o->pid = (pid_t)pid;
		return 0;
	}
	case OPT_LEAVE_RUNNING:
		o->leave_running = true;
		return 0;
	case OPT_SHELL_JOB:
		o->shell_job = true;
		return 0;
	case OPT_FILE_LOCKS:
		o->file_locks = true;
		return 0;
	case OPT_GHOST_LIMIT:
		return parse_size("--ghost-limit", arg, &o->ghost_limit);
	case OPT_RESTORE_DETACHED:
		o->restore_detached = true;
		return 0;
	case OPT_EXT_UNIX_SK:
		if (arg) {
			fprintf(stderr,
				"stasis: --ext-unix-sk=%s: a list of sockets is not supported; "
				"--ext-unix-sk alone allows every named external peer\n",
				arg);
			return -EINVAL;
		}
		o->ext_unix_sk = true;
		return 0;
	case OPT_DISPLAY_STATS:
		o->display_stats = true;
		return 0;
	case OPT_PIDFILE:
		o->pidfile = arg;
		return 0;
	case OPT_TRACK_MEM:
		o->track_mem = true;
		return 0;
	case OPT_PREV_IMAGES_DIR:
		o->prev_images_dir = arg;
		return 0;
	case OPT_CANCEL:
		o->cancel = true;
		return 0;
	case OPT_ITERATIVE:
		o->iterative = true;
		return 0;
	case OPT_SNAPSHOT:
		o->snapshot = true;
		return 0;
	case OPT_AUTO_DEDUP:
		o->auto_dedup = true;
		return 0;
	case OPT_MAX_ITERATIONS:
		return parse_count("--max-iterations", arg, 1, 100, &o->max_iterations);
	case OPT_TARGET_FROZEN_MS:
		return parse_count("--target-frozen-ms", arg, 1, 3600000, &o->target_frozen_ms);
	}
	return -EINVAL;
}

int cli_parse(int argc, char **argv, struct cli_opts *ret_opts)
{
	struct cli_opts o = { .log_level = LOG_DEFAULT_LEVEL };
	struct option *longs = build_long_options();
	struct seen_option seen[64];
	size_t nseen = 0;
	bool help = false;
	char *words[64];
	int nwords = 0;

	optind = 1;
	opterr = 0;
	/* '+' stops at the first word; we collect words and go on, so options
	 * may stand anywhere (criu's permuting behaviour, without reordering argv). */
	while (optind < argc) {
		int longidx = -1;
		int c = getopt_long(argc, argv, short_options, longs, &longidx);

		if (c == -1) {
			if (nwords >= (int)ELEMENTSOF(words)) {
				fprintf(stderr, "stasis: too many arguments\n");
				return -EINVAL;
			}
			words[nwords++] = argv[optind++];
			continue;
		}
		if (c == '?') {
			if (optopt && strchr(short_options, optopt))
				fprintf(stderr, "stasis: option -%c needs a value\n", optopt);
			else if (optopt)
				fprintf(stderr, "stasis: unknown option -%c (see stasis --help)\n",
					optopt);
			else
				fprintf(stderr, "stasis: unknown option '%s' (see stasis --help)\n",
					argv[optind - 1]);
			return -EINVAL;
		}
		if (c == 'h') {
			help = true;
			continue;
		}
		if (c == 'V') {
			printf("Version: %s\n", STASIS_VERSION);
			return 1;
		}
		if (c >= OPT_LONG_BASE) {
			const struct cli_option *opt = &cli_options[c - OPT_LONG_BASE];

			if (opt->id == OPT_HELP) {
				help = true;
				continue;
			}
			if (opt->id == OPT_VERSION) {
				printf("Version: %s\n", STASIS_VERSION);
				return 1;
			}
			if (opt->id == OPT_UNSUPPORTED) {
				fprintf(stderr, "stasis: option --%s is not supported by stasis yet\n",
					opt->name);
				return -EINVAL;
			}
			if (nseen < ELEMENTSOF(seen))
				seen[nseen++] = (struct seen_option){ opt->name, opt->commands };
			if (apply_option(opt->id, optarg, &o) < 0)
				return -EINVAL;
			continue;
		}
		if (strchr(unsupported_short, c)) {
			fprintf(stderr, "stasis: option -%c is not supported by stasis yet\n", c);
			return -EINVAL;
		}
		if (long_name_of(c) && nseen < ELEMENTSOF(seen))
			seen[nseen++] = (struct seen_option){ long_name_of(c), commands_of(c) };
		if (apply_option(c, optarg, &o) < 0)
			return -EINVAL;
	}

	if (nwords == 0) {
		cli_usage(help ? stdout : stderr);
		return help ? 1 : -EINVAL;
	}
	o.command = command_from_name(words[0]);
	if (o.command == CMD_NONE) {
		fprintf(stderr, "stasis: unknown command '%s' (see stasis --help)\n", words[0]);
		return -EINVAL;
	}
	o.command_name = command_names[o.command];
	if (help) {
		command_usage(o.command, stdout);
		return 1;
	}
	if (!command_is_implemented(o.command)) {
		fprintf(stderr, "stasis: command '%s' is not implemented yet\n", o.command_name);
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < nseen; i++)
		if (!(seen[i].commands & CMD_BIT(o.command))) {
			fprintf(stderr, "stasis: option --%s does not apply to '%s'\n",
				seen[i].name, o.command_name);
			return -EINVAL;
		}
	/* Words after the command are kept for commands that take them. */
	static char *rest[64];
	for (int i = 1; i < nwords; i++)
		rest[i - 1] = words[i];
	o.args = rest;
	o.nargs = nwords - 1;
	*ret_opts = o;
	return 0;
}
