/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --display-stats: criu's summary of stats-dump / stats-restore, on stdout. */
#include <inttypes.h>

#include "cli/commands.h"
#include "image/image.h"
#include "stats.pb-c.h"

static void show_time(const char *what, uint32_t us)
{
	printf("%s: %" PRIu32 " us\n", what, us);
}

static void show_count(const char *what, uint64_t n)
{
	printf("%s: %" PRIu64 " (0x%" PRIx64 ")\n", what, n, n);
}

static StatsEntry *read_stats(const char *images_dir, enum img_type type)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct ProtobufCMessage *msg = NULL;

	if (img_dir_open(images_dir, &dir) < 0 || img_read_one(dir, type, 0, &msg) < 0) {
		fprintf(stderr, "stasis: no statistics to display in %s\n", images_dir);
		return NULL;
	}
	return (StatsEntry *)msg;
}

void display_dump_stats(const char *images_dir)
{
	StatsEntry *s = read_stats(images_dir, IMG_STATS_DUMP);
	const DumpStatsEntry *d = s ? s->dump : NULL;

	if (d) {
		printf("Displaying dump stats:\n");
		show_time("Freezing time", d->freezing_time);
		show_time("Frozen time", d->frozen_time);
		show_time("Memory dump time", d->memdump_time);
		show_time("Memory write time", d->memwrite_time);
		show_count("Memory pages scanned", d->pages_scanned);
		show_count("Memory pages skipped from parent", d->pages_skipped_parent);
		show_count("Memory pages written", d->pages_written);
		show_count("Lazy memory pages", d->pages_lazy);
	}
	if (s)
		img_msg_free(&s->base);
}

void display_restore_stats(const char *images_dir)
{
	StatsEntry *s = read_stats(images_dir, IMG_STATS_RESTORE);
	const RestoreStatsEntry *r = s ? s->restore : NULL;

	if (r) {
		printf("Displaying restore stats:\n");
		show_count("Pages compared", r->pages_compared);
		show_count("Pages skipped COW", r->pages_skipped_cow);
		if (r->has_pages_restored)
			show_count("Pages restored", r->pages_restored);
		show_time("Restore time", r->restore_time);
		show_time("Forking time", r->forking_time);
	}
	if (s)
		img_msg_free(&s->base);
}
