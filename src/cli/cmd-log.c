/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "cli/commands.h"

static void log_usage(FILE *out)
{
	fputs("Usage: stasis log decode FILE [-o OUT]\n"
	      "  Print a binary log (the default format of -o FILE) as the text a\n"
	      "  --log-format=text log would hold. A truncated log (a crash) is decoded\n"
	      "  up to its last whole record and reported.\n",
	      out);
}

static int log_decode_cmd(int argc, char **argv)
{
	const char *in = NULL, *out_path = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *out = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "-o") && i + 1 < argc)
			out_path = argv[++i];
		else if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			log_usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "stasis log decode: unknown option '%s'\n", argv[i]);
			return 1;
		} else if (!in)
			in = argv[i];
		else {
			fprintf(stderr, "stasis log decode: one FILE only\n");
			return 1;
		}
	}
	if (!in) {
		log_usage(stderr);
		return 1;
	}
	fd = streq(in, "-") ? dup(STDIN_FILENO) : open(in, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "stasis log decode: cannot open %s: %m\n", in);
		return 1;
	}
	if (out_path) {
		out = fopen(out_path, "we");
		if (!out) {
			fprintf(stderr, "stasis log decode: cannot create %s: %m\n", out_path);
			return 1;
		}
	}
	r = log_decode(fd, out ? out : stdout, stderr, in);
	if (fflush(out ? out : stdout) != 0)
		return 1;
	return r < 0 ? 1 : 0;
}

int cmd_log(int argc, char **argv)
{
	if (argc < 2 || streq(argv[1], "-h") || streq(argv[1], "--help")) {
		log_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	if (streq(argv[1], "decode"))
		return log_decode_cmd(argc - 1, argv + 1);
	fprintf(stderr, "stasis log: unknown command '%s' (try: stasis log decode FILE)\n", argv[1]);
	return 1;
}
