/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The image tool behind `stasis image`: what CRIU's crit does, with the
 * same JSON and text (see docs/crit.md).
 *
 * Paths: NULL or "-" mean stdin (inputs) and stdout (outputs). An output
 * file is written under a temporary name and renamed into place on
 * success, so a failed command leaves it as it was. Errors are logged
 * once (pr_err), naming the file and the byte offset; the functions return
 * 0 or a negative errno.
 */

#include <stdbool.h>
#include <stdio.h>

struct img_file;
struct json_out;

struct crit_decode_opts {
	bool pretty; /* indent=4, and the field-specific forms (hex, flags, ...) */
	bool nopl;   /* `show --nopl`: the size of extra payloads instead of them */
};

/* crit decode: the image at in_path as JSON, to out_path. */
int crit_decode(const char *in_path, const char *out_path, const struct crit_decode_opts *o);
/* The JSON document of an open image, written to o (for tests and benchmarks). */
int crit_decode_image(struct img_file *f, struct json_out *o, const struct crit_decode_opts *opts);

/* crit encode: a JSON document (as decode writes it) back into an image. */
int crit_encode(const char *in_path, const char *out_path);
/* The same from memory; label names the input in messages. */
int crit_encode_mem(const char *json, size_t len, const char *label, const char *out_path);

/* crit info: {"magic": ..., "count": N} with indent=4. */
int crit_info(const char *in_path, FILE *out);

/*
 * crit x DIR ps|fds|mems|rss, and sk (sockets, which crit lacks): crit's
 * text, or with json a JSON array (see docs/crit.md). -EINVAL for another
 * `what`.
 */
int crit_explore(const char *dir, const char *what, bool json, FILE *out);
/* Is what one of the explorers of crit_explore()? */
bool crit_explorer_known(const char *what);

/*
 * stasis image anonymize IN OUT: a copy of the image directory IN in OUT
 * (created, or empty) without memory contents, paths, names, registers,
 * stream data and addresses (see docs/crit.md).
 */
int crit_anonymize(const char *in_dir, const char *out_dir);

/*
 * stasis image core: an ELF core file OUT_DIR/core.PID for the process pid
 * of the image set (0: for each process), for gdb (see docs/crit.md).
 */
int crit_core(const char *dir, unsigned pid, const char *out_dir);

/* stasis image stats: what stats-dump and stats-restore hold, as text or JSON. */
int crit_stats(const char *dir, bool json, FILE *out);
