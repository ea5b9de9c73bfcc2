/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Kernel features stasis relies on, found by trying them (never by kernel
 * version). Each feature has a probe that returns 1 if the feature works,
 * 0 if the kernel lacks it, or a negative errno if the probe itself could not
 * tell (fork failed, permission denied ...).
 *
 * Probes that need a second process fork it themselves and always kill and
 * reap it before returning. Probes log their details at info/debug level.
 */

#include <stdbool.h>
#include <stddef.h>

enum kerndat_id {
	/* required: without them stasis cannot dump or restore */
	KD_PTRACE_SEIZE,
	KD_PTRACE_XSTATE,
	KD_GET_RSEQ_CONF,
	KD_PROCESS_VM,
	KD_PIDFD_STORE,
	KD_CLONE3_SET_TID,
	KD_PAGEMAP_SCAN,
	KD_KCMP,
	KD_MEMFD,
	KD_PRCTL_MM_MAP,
	/* optional: each enables a feature or a kind of state */
	KD_UFFD,
	KD_UFFD_NONCOOP,
	KD_UFFD_WP_ASYNC,
	KD_UFFD_WP_UNPOPULATED,
	KD_MEM_DIRTY_TRACK,
	KD_SOFT_DIRTY,
	KD_TCP_REPAIR,
	KD_TIMENS,
	KD_IO_URING,
	_KD_COUNT,
};

struct kerndat_feature {
	enum kerndat_id id;
	const char *name;      /* criu's `check --feature` name where criu has the feature */
	const char *alias;     /* another accepted name, or NULL */
	const char *interface; /* the kernel interface probed */
	const char *enables;   /* what stasis does with it */
	bool required;         /* dump or restore cannot work without it */
	int (*probe)(void);    /* 1 present, 0 missing, -errno probe failed */
};

/* Probe results, indexed by enum kerndat_id. */
struct kerndat {
	int status[_KD_COUNT];
};

/* The feature table, in enum order (features[i].id == i). */
const struct kerndat_feature *kerndat_features(void);
const struct kerndat_feature *kerndat_feature(enum kerndat_id id);

/*
 * Does the user's `query` name this canonical `name`? Exact, except that '-'
 * and '_' are the same (criu mixes them: uffd-noncoop, mem_dirty_track).
 */
bool kerndat_name_matches(const char *name, const char *query);

/* The feature named (or aliased) `query`, or NULL. */
const struct kerndat_feature *kerndat_find(const char *query);

/* Run one probe; logs the outcome. Returns the probe's result. */
int kerndat_probe(enum kerndat_id id);

/* Run every probe. */
void kerndat_probe_all(struct kerndat *ret_kd);

static inline bool kerndat_has(const struct kerndat *kd, enum kerndat_id id)
{
	return kd->status[id] == 1;
}

/* Are all required features present? (what `stasis check` exits 0 on) */
bool kerndat_required_ok(const struct kerndat *kd);
