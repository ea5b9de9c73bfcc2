/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stasis image decode|encode|show|info|x|anonymize|core: crit's command line (see docs/crit.md). */
#include <getopt.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "crit/crit.h"

static void image_usage(FILE *out)
{
	fputs("Usage: stasis image COMMAND ...\n"
	      "CRIU image files as JSON, with the same output and options as CRIU's crit.\n"
	      "\n"
	      "  decode [-i IN] [-o OUT] [--pretty]  an image as JSON\n"
	      "  encode [-i IN] [-o OUT]             JSON (as decode writes it) back into an "
	      "image\n"
	      "  show IN [--nopl]                    decode --pretty to stdout\n"
	      "  info IN                             the image type and its number of entries\n"
	      "  x DIR ps|fds|mems|rss|sk [--json]   the process tree, files, mappings,\n"
	      "                                      resident pages or sockets of an image\n"
	      "                                      directory\n"
	      "  anonymize IN_DIR OUT_DIR            a copy of an image directory without\n"
	      "                                      secrets, for bug reports\n"
	      "  core -D DIR [-p PID] -o OUT_DIR     ELF core files (core.PID) for gdb\n"
	      "  stats DIR [--json]                  the statistics of the last dump and restore\n"
	      "\n"
	      "IN and OUT default to stdin and stdout, and '-' names them too.\n"
	      "Try: stasis image COMMAND --help\n",
	      out);
}

static const struct {
	const char *name;
	const char *usage;
} command_usage[] = {
	{"decode", "Usage: stasis image decode [-i IN] [-o OUT] [--pretty]\n"
		   "Convert an image from binary to JSON.\n"
		   "  -i, --in IN    the image (stdin by default)\n"
		   "  -o, --out OUT  where to put the JSON (stdout by default)\n"
		   "  --pretty       multiline with indents, and some numerical fields in a\n"
		   "                 field-specific format (hex, flags, devices, addresses)\n"},
	{"encode", "Usage: stasis image encode [-i IN] [-o OUT]\n"
		   "Convert an image from JSON back to binary.\n"
		   "  -i, --in IN    the JSON (stdin by default)\n"
		   "  -o, --out OUT  where to put the image (stdout by default)\n"},
	{"show", "Usage: stasis image show IN [--nopl]\n"
		 "Convert an image to human-readable JSON on stdout (decode --pretty).\n"
		 "  --nopl         do not show entry payloads (only their size)\n"},
	{"info", "Usage: stasis image info IN\n"
		 "Show the type of an image and its number of entries.\n"},
	{"x", "Usage: stasis image x DIR ps|fds|mems|rss|sk [--json]\n"
	      "Explore an image directory: the process tree (ps), the open files (fds),\n"
	      "the memory mappings (mems), the pages saved per mapping (rss) or the\n"
	      "sockets (sk: family, type, state, addresses, names, peers).\n"
	      "  --json         a JSON array with an object per process, for scripts\n"},
	{"anonymize", "Usage: stasis image anonymize IN_DIR OUT_DIR\n"
		      "Copy the images of IN_DIR to OUT_DIR (created, or empty) without what they\n"
		      "reveal: memory contents, registers, pipe, socket and tty data, ghost file\n"
		      "contents become zeros (sizes kept); paths, process names and other names\n"
		      "become pseudonyms (the same original gives the same pseudonym everywhere);\n"
		      "IP addresses are mapped consistently to 10.0.0.0/8 and fd00::/8.\n"
		      "Files that are not images (logs, tmpfs archives) are left out.\n"},
	{"core", "Usage: stasis image core -D DIR [-p PID] -o OUT_DIR\n"
		 "Write an ELF core file OUT_DIR/core.PID for each process of the image set\n"
		 "(or for PID only), with every thread's registers and the dumped memory:\n"
		 "  gdb BINARY OUT_DIR/core.PID\n"
		 "  -D, --images-dir DIR  the image directory\n"
		 "  -p, --pid PID         only this process\n"
		 "  -o, --out OUT_DIR     where to write (created if absent)\n"},
	{"stats", "Usage: stasis image stats DIR [--json]\n"
		  "Show the statistics a dump and a restore left in DIR (stats-dump,\n"
		  "stats-restore): freezing, frozen, memory dump and write times (us), pages\n"
		  "scanned, skipped (in the parent), written, lazy ...\n"
		  "  --json         as a JSON object {\"dump\": {...}, \"restore\": {...}}\n"},
};

static void command_help(const char *cmd, FILE *out)
{
	for (size_t i = 0; i < ELEMENTSOF(command_usage); i++)
		if (streq(cmd, command_usage[i].name))
			fputs(command_usage[i].usage, out);
}

enum { OPT_PRETTY = 0x100, OPT_NOPL, OPT_JSON };

struct image_args {
	const char *in, *out, *dir;
	unsigned pid;
	bool pretty, nopl, json;
	const char *pos[2]; /* positional arguments */
	int n_pos;
};

/* 0, 1 for --help (printed), -1 for a usage error (printed). */
static int parse_args(int argc, char **argv, struct image_args *a)
{
	static const struct option opts[] = {
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"pretty", no_argument, NULL, OPT_PRETTY},
		{"nopl", no_argument, NULL, OPT_NOPL},
		{"help", no_argument, NULL, 'h'},
		{"images-dir", required_argument, NULL, 'D'},
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, OPT_JSON},
		{},
	};
	const char *cmd = argv[0];
	bool io = streq(cmd, "decode") || streq(cmd, "encode") || streq(cmd, "core");
	bool core = streq(cmd, "core");
	char *end;
	int c;

	*a = (struct image_args){};
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":i:o:D:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			command_help(cmd, stdout);
			return 1;
		case 'D':
			if (!core)
				goto bad;
			a->dir = optarg;
			break;
		case 'p':
			if (!core)
				goto bad;
			errno = 0;
			a->pid = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || a->pid == 0 || a->pid > INT32_MAX) {
				fprintf(stderr, "stasis image core: '%s' is not a process id\n",
					optarg);
				return -1;
			}
			break;
		case 'i':
		case 'o':
			if (!io || (core && c == 'i'))
				goto bad;
			*(c == 'i' ? &a->in : &a->out) = optarg;
			break;
		case OPT_PRETTY:
			if (!streq(cmd, "decode"))
				goto bad;
			a->pretty = true;
			break;
		case OPT_JSON:
			if (!streq(cmd, "stats") && !streq(cmd, "x"))
				goto bad;
			a->json = true;
			break;
		case OPT_NOPL:
			if (!streq(cmd, "show"))
				goto bad;
			a->nopl = true;
			break;
		case ':':
			fprintf(stderr, "stasis image %s: option '%s' needs an argument\n", cmd,
				argv[optind - 1]);
			return -1;
		default:
			goto bad;
		}
	}
	for (; optind < argc; optind++) {
		if (a->n_pos == (int)ELEMENTSOF(a->pos)) {
			fprintf(stderr, "stasis image %s: unexpected argument '%s'\n", cmd,
				argv[optind]);
			return -1;
		}
		a->pos[a->n_pos++] = argv[optind];
	}
	return 0;
bad:
	fprintf(stderr, "stasis image %s: unknown option '%s'\n", cmd, argv[optind - 1]);
	command_help(cmd, stderr);
	return -1;
}

static bool positional_ok(const char *cmd, const struct image_args *a, int n)
{
	if (a->n_pos == n)
		return true;
	fprintf(stderr, "stasis image %s: %s\n", cmd,
		a->n_pos < n ? "missing arguments" : "too many arguments");
	command_help(cmd, stderr);
	return false;
}

/* The library call; -EINVAL for a usage error (explained already). */
static int run(const char *cmd, const struct image_args *a, bool *ret_usage_error)
{
	const struct crit_decode_opts pretty = {.pretty = true, .nopl = a->nopl};
	const struct crit_decode_opts decode = {.pretty = a->pretty};
	const int n_pos = streq(cmd, "x") || streq(cmd, "anonymize")                        ? 2
			  : streq(cmd, "show") || streq(cmd, "info") || streq(cmd, "stats") ? 1
											    : 0;

	*ret_usage_error = !positional_ok(cmd, a, n_pos);
	if (*ret_usage_error)
		return -EINVAL;
	if (streq(cmd, "core") && (!a->dir || !a->out)) {
		fprintf(stderr, "stasis image core: -D DIR and -o OUT_DIR are needed\n");
		command_help(cmd, stderr);
		*ret_usage_error = true;
		return -EINVAL;
	}
	if (streq(cmd, "anonymize"))
		return crit_anonymize(a->pos[0], a->pos[1]);
	if (streq(cmd, "core"))
		return crit_core(a->dir, a->pid, a->out);
	if (streq(cmd, "stats"))
		return crit_stats(a->pos[0], a->json, stdout);
	if (streq(cmd, "decode"))
		return crit_decode(a->in, a->out, &decode);
	if (streq(cmd, "encode"))
		return crit_encode(a->in, a->out);
	if (streq(cmd, "show"))
		return crit_decode(a->pos[0], NULL, &pretty);
	if (streq(cmd, "info"))
		return crit_info(a->pos[0], stdout);
	if (!crit_explorer_known(a->pos[1])) {
		fprintf(stderr, "stasis image x: '%s' is not one of ps, fds, mems, rss, sk\n",
			a->pos[1]);
		*ret_usage_error = true;
		return -EINVAL;
	}
	return crit_explore(a->pos[0], a->pos[1], a->json, stdout);
}

int cmd_image(int argc, char **argv)
{
	struct image_args a;
	bool known = false, usage_error;
	int r;

	if (argc < 2 || streq(argv[1], "-h") || streq(argv[1], "--help")) {
		image_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(command_usage); i++)
		known |= streq(argv[1], command_usage[i].name);
	if (!known) {
		fprintf(stderr, "stasis image: unknown command '%s'\n", argv[1]);
		image_usage(stderr);
		return 2;
	}
	r = parse_args(argc - 1, argv + 1, &a);
	if (r != 0)
		return r > 0 ? 0 : 2;
	r = run(argv[1], &a, &usage_error);
	if (usage_error)
		return 2;
	/* errors were logged where they arose */
	if (fflush(stdout) != 0)
		return 1;
	return r < 0 ? 1 : 0;
}
