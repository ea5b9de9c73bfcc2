/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `stasis check`: print what src/kerndat found. With --feature NAME (repeatable)
 * only those features, criu's way: "NAME is supported" or not, exit 0 only if
 * all are. --all and --extra are accepted for criu compatibility; every check
 * is always shown.
 */
#include <stdio.h>

#include "cli/commands.h"
#include "kerndat/kerndat.h"

static const char *status_word(int status)
{
	return status > 0 ? "present" : status == 0 ? "missing" : "error";
}

static void print_feature_line(const struct kerndat_feature *f, int status)
{
	printf("%-20s %-8s %-9s %s: %s", f->name, status_word(status),
	       f->required ? "required" : "optional", f->interface, f->enables);
	if (status < 0)
		printf(" (probe failed: %s)", strerror(-status));
	putchar('\n');
}

static void print_valid_names(FILE *out)
{
	const struct kerndat_feature *features = kerndat_features();

	for (int i = 0; i < _KD_COUNT; i++)
		fprintf(out, "%s%s", i ? ", " : "", features[i].name);
	fputc('\n', out);
}

static int count_absent(const struct kerndat *kd, bool required)
{
	const struct kerndat_feature *features = kerndat_features();
	int n = 0;

	for (int i = 0; i < _KD_COUNT; i++)
		n += features[i].required == required && !kerndat_has(kd, i);
	return n;
}

/* " a, b, c" for the required (or optional) features that are not present. */
static void print_absent(const struct kerndat *kd, bool required)
{
	const struct kerndat_feature *features = kerndat_features();
	int n = 0;

	for (int i = 0; i < _KD_COUNT; i++)
		if (features[i].required == required && !kerndat_has(kd, i))
			printf("%s%s", n++ ? ", " : " ", features[i].name);
}

static int check_all(void)
{
	const struct kerndat_feature *features = kerndat_features();
	struct kerndat kd;

	kerndat_probe_all(&kd);
	for (int i = 0; i < _KD_COUNT; i++)
		print_feature_line(&features[i], kd.status[i]);

	if (!kerndat_required_ok(&kd)) {
		printf("Does not look good: dump and restore need");
		print_absent(&kd, true);
		printf(".\n");
		return 1;
	}
	if (count_absent(&kd, false) > 0) {
		printf("Looks good. Optional features missing:");
		print_absent(&kd, false);
		printf(" (see above for what they enable).\n");
	} else
		printf("Looks good.\n");
	return 0;
}

static int check_features(const struct cli_opts *opts)
{
	const struct kerndat_feature *wanted[ELEMENTSOF(opts->features)];
	int status = 0;

	/* Refuse a bad name before probing anything. */
	for (int i = 0; i < opts->nfeatures; i++) {
		wanted[i] = kerndat_find(opts->features[i]);
		if (!wanted[i]) {
			fprintf(stderr,
				"stasis: unknown feature '%s'. Valid names: ", opts->features[i]);
			print_valid_names(stderr);
			return 1;
		}
	}
	for (int i = 0; i < opts->nfeatures; i++) {
		int r = kerndat_probe(wanted[i]->id);

		if (r > 0)
			printf("%s is supported\n", wanted[i]->name);
		else if (r == 0)
			printf("%s is not supported\n", wanted[i]->name);
		else
			printf("%s could not be checked: %s\n", wanted[i]->name, strerror(-r));
		if (r <= 0)
			status = 1;
	}
	return status;
}

int cmd_check(const struct cli_opts *opts)
{
	if (opts->nargs > 0) {
		fprintf(stderr, "stasis: check takes no arguments, not '%s' (see --feature NAME)\n",
			opts->args[0]);
		return 1;
	}
	if (opts->nfeatures > 0)
		return check_features(opts);
	return check_all();
}
