/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stasis image stats DIR [--json]: the statistics a dump and a restore left
 * in stats-dump and stats-restore, every field the file holds, in field
 * order. Fields named *_time are microseconds.
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/crit.h"
#include "crit/json-out.h"
#include "crit/pb-field.h"
#include "image/image.h"
#include "stats.pb-c.h"

static bool is_time(const char *field)
{
	size_t n = strlen(field);

	return n > 5 && streq(field + n - 5, "_time");
}

static void stats_text(const char *title, const ProtobufCMessage *m, FILE *out)
{
	fprintf(out, "%s:\n", title);
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		uint64_t v;
		size_t n;

		if (!pb_field_present(m, f, &n))
			continue;
		v = pb_get_int(f->type, pb_member(m, f));
		if (is_time(f->name))
			fprintf(out, "  %-24s %12" PRIu64 " us\n", f->name, v);
		else
			fprintf(out, "  %-24s %12" PRIu64 "\n", f->name, v);
	}
}

static void stats_json(struct json_out *o, const char *key, const ProtobufCMessage *m)
{
	json_key(o, key);
	json_obj_begin(o);
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		char name[64];
		size_t n;

		if (!pb_field_present(m, f, &n))
			continue;
		snprintf(name, sizeof(name), "%s%s", f->name, is_time(f->name) ? "_us" : "");
		json_key(o, name);
		json_u64(o, pb_get_int(f->type, pb_member(m, f)));
	}
	json_obj_end(o);
}

/* The entry of stats-dump or stats-restore; NULL (not an error) if the file is absent. */
static int read_stats(struct img_dir *dir, enum img_type type, StatsEntry **ret)
{
	ProtobufCMessage *m = NULL;
	int r = img_read_one(dir, type, 0, &m);

	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = (StatsEntry *)m;
	return 0;
}

int crit_stats(const char *dir_path, bool json, FILE *out)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	StatsEntry *d = NULL, *rs = NULL;
	struct json_out o;
	int r;

	r = img_dir_open(dir_path, &dir);
	if (r == 0)
		r = read_stats(dir, IMG_STATS_DUMP, &d);
	if (r == 0)
		r = read_stats(dir, IMG_STATS_RESTORE, &rs);
	if (r == 0 && !(d && d->dump) && !(rs && rs->restore)) {
		pr_err("%s: no statistics (stats-dump or stats-restore): dump or restore with "
		       "this directory as -D first",
		       dir_path);
		r = -ENOENT;
	}
	if (r == 0 && !json) {
		if (d && d->dump)
			stats_text("dump", &d->dump->base, out);
		if (rs && rs->restore)
			stats_text("restore", &rs->restore->base, out);
	} else if (r == 0) {
		r = json_out_init(&o, true, 0);
		if (r == 0) {
			json_obj_begin(&o);
			if (d && d->dump)
				stats_json(&o, "dump", &d->dump->base);
			if (rs && rs->restore)
				stats_json(&o, "restore", &rs->restore->base);
			json_obj_end(&o);
			r = o.error;
			if (r == 0)
				fprintf(out, "%.*s\n", (int)o.len, o.buf);
			json_out_fini(&o);
		}
	}
	if (d)
		img_msg_free(&d->base);
	if (rs)
		img_msg_free(&rs->base);
	return r;
}
