/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stats-restore, as CRIU writes it (times in microseconds): forking_time is
 * the creation of the task, restore_time the whole restore.
 */
#include "base/clock.h"
#include "restore/internal.h"

int rst_write_stats(struct rst_ctx *c)
{
	RestoreStatsEntry rs = RESTORE_STATS_ENTRY__INIT;
	StatsEntry st = STATS_ENTRY__INIT;
	int r;

	rs.forking_time = (uint32_t)(c->t_fork_end - c->t_fork_start);
	rs.restore_time = (uint32_t)(monotonic_ns() / 1000 - c->t_start);
	rs.has_pages_restored = true;
	rs.pages_restored = c->pages_restored;
	st.restore = &rs;
	r = img_write_one(c->img.dir, IMG_STATS_RESTORE, 0, &st.base);
	if (r < 0)
		rst_warn(c, "cannot write stats-restore in %s: %s", img_dir_path(c->img.dir),
			 strerror(-r));
	return r;
}
