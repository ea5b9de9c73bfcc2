/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `stasis dump --iterative`: pre-dump rounds into DIR/pre-1, DIR/pre-2 ...
 * (each the parent of the next), all in this process, which keeps the
 * userfaultfds from round to round, until the set of written pages stops
 * shrinking, is small enough to copy within the frozen-time target, or the
 * rounds run out; then the final dump into DIR, whose parent is the last
 * round. `dump --track-mem` after separate pre-dumps makes such rounds too,
 * from the tracking it takes over. docs/predump.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"
#include "stats.pb-c.h"

/*
 * Pages the final dump is taken to copy per millisecond frozen: 1 GB/s,
 * under what this kind of machine measures (2.2-3 GB/s, docs/mem.md), so
 * that the estimate errs towards one more round.
 */
#define FINAL_PAGES_PER_MS 256u

/* dump --track-mem: at most this many rounds while the tree runs, stopping at this target. */
#define TRACK_MEM_ROUNDS 3
#define TRACK_MEM_TARGET_MS 10u

static int round_written(const char *dir_path, uint64_t *ret)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct ProtobufCMessage *msg = NULL;
	StatsEntry *s;
	int r;

	r = img_dir_open(dir_path, &dir);
	if (r >= 0)
		r = img_read_one(dir, IMG_STATS_DUMP, 0, &msg);
	if (r < 0)
		return r;
	s = (StatsEntry *)msg;
	r = s->dump ? 0 : -EBADMSG;
	if (r == 0)
		*ret = s->dump->pages_written;
	img_msg_free(msg);
	return r;
}

static bool small_enough(uint64_t written, unsigned target_ms)
{
	return target_ms && written <= (uint64_t)target_ms * FINAL_PAGES_PER_MS;
}

/*
 * Pre-dump rounds into DIR/pre-1, DIR/pre-2 ... (pre-1's parent: first_prev,
 * relative to DIR, or none), until the set of written pages stops
 * shrinking, is small enough for target_ms, or max rounds were made. prev:
 * the last round's directory, as DIR's parent link names it.
 */
static int run_rounds(const struct dump_opts *final, struct dump_tracking *trk,
		      const char *first_prev, int max, unsigned target_ms, char *prev, size_t size)
{
	uint64_t last = UINT64_MAX;
	char dir[4096];

	if (first_prev)
		snprintf(prev, size, "%s%s", first_prev[0] == '/' ? "" : "../", first_prev);
	else
		prev[0] = '\0';
	for (int k = 1; k <= max; k++) {
		uint64_t written;
		int r;

		snprintf(dir, sizeof(dir), "%s/pre-%d", final->images_dir, k);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			r = negative_errno();
			pr_err("cannot make %s: %s", dir, strerror(-r));
			return r;
		}
		r = stasis_dump(&(struct dump_opts){.pid = final->pid,
						    .images_dir = dir,
						    .pre_dump = true,
						    .prev_images_dir = prev[0] ? prev : NULL,
						    .auto_dedup = final->auto_dedup,
						    .tracking = trk,
						    .track_with = final->track_with});
		if (r >= 0)
			r = round_written(dir, &written);
		if (r < 0)
			return r;
		pr_info("dump of pid %d: round %d saved %" PRIu64 " pages", final->pid, k, written);
		/* The next round points at this one, from its sibling directory. */
		snprintf(prev, size, "../pre-%d", k);
		if (small_enough(written, target_ms) || written >= last)
			break;
		last = written;
	}
	return 0;
}

int stasis_dump_iterative(const struct dump_opts *final, const struct dump_iter_opts *it)
{
	_cleanup_(dump_tracking_freep) struct dump_tracking *trk = NULL;
	char prev[4096];
	struct dump_opts o;
	int r;

	r = dump_tracking_new(&trk);
	if (r >= 0)
		r = run_rounds(final, trk, NULL,
			       it->max_iterations > 0 ? it->max_iterations
						      : DUMP_ITER_DEFAULT_ROUNDS,
			       it->target_frozen_ms, prev, sizeof(prev));
	if (r < 0)
		return r;
	o = *final;
	o.track_mem = true;
	o.prev_images_dir = prev + 3; /* "pre-N": DIR's own subdirectory */
	o.tracking = trk;
	return stasis_dump(&o);
}

/*
 * dump --track-mem with the tracking of separate pre-dumps: the pages
 * written since the last pre-dump are saved first while the tree runs, in
 * rounds of their own (DIR/pre-1 ..., pre-1's parent --prev-images-dir), so
 * that the freeze copies only those written during the last round.
 */
int dump_track_mem_last_round(const struct dump_opts *final)
{
	_cleanup_(dump_tracking_freep) struct dump_tracking *trk = NULL;
	char prev[4096];
	struct dump_opts o;
	int r;

	r = dump_tracking_take(final->images_dir, final->prev_images_dir, &trk);
	if (r < 0)
		return r;
	o = *final;
	o.tracking = trk;
	if (trk->n) { /* else nothing is tracked: every page is saved anyway */
		r = run_rounds(final, trk, final->prev_images_dir, TRACK_MEM_ROUNDS,
			       TRACK_MEM_TARGET_MS, prev, sizeof(prev));
		if (r < 0)
			return r;
		o.prev_images_dir = prev + 3;
	}
	return stasis_dump(&o);
}
