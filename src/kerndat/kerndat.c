/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of kernel features, lookup by name, and running the probes.
 * Which features are required is explained in docs/check.md.
 */
#include "base/log.h"
#include "kerndat/kerndat.h"
#include "kerndat/probes.h"

#define FEATURE(id_, name_, alias_, required_, probe_, interface_, enables_) \
	[id_] = {                                                            \
		.id = id_,                                                   \
		.name = name_,                                               \
		.alias = alias_,                                             \
		.interface = interface_,                                     \
		.enables = enables_,                                         \
		.required = required_,                                       \
		.probe = probe_,                                             \
	}

static const struct kerndat_feature features[_KD_COUNT] = {
	FEATURE(KD_PTRACE_SEIZE, "ptrace_seize", NULL, true, probe_ptrace_seize,
		"PTRACE_SEIZE + PTRACE_INTERRUPT",
		"freezing tasks without signals they could notice"),
	FEATURE(KD_PTRACE_XSTATE, "ptrace_xstate", NULL, true, probe_ptrace_xstate,
		"PTRACE_GETREGSET NT_X86_XSTATE",
		"saving and restoring FPU/SSE/AVX/AVX-512 registers"),
	FEATURE(KD_GET_RSEQ_CONF, "get_rseq_conf", "rseq", true, probe_get_rseq_conf,
		"PTRACE_GET_RSEQ_CONFIGURATION",
		"saving and re-registering the rseq area glibc gives every thread"),
	FEATURE(KD_PROCESS_VM, "process_vm", NULL, true, probe_process_vm,
		"process_vm_readv/writev", "copying memory out of and into tasks, no parasite"),
	FEATURE(KD_PIDFD_STORE, "pidfd_store", "pidfd_getfd", true, probe_pidfd_store,
		"pidfd_open + pidfd_getfd", "taking file descriptors out of and into tasks"),
	FEATURE(KD_CLONE3_SET_TID, "clone3_set_tid", NULL, true, probe_clone3_set_tid,
		"clone3 with set_tid", "restoring tasks and threads with their old pids"),
	FEATURE(KD_PAGEMAP_SCAN, "pagemap_scan", NULL, true, probe_pagemap_scan,
		"PAGEMAP_SCAN ioctl on /proc/PID/pagemap",
		"finding the pages to dump without reading pagemap entry by entry"),
	FEATURE(KD_KCMP, "kcmp", NULL, true, probe_kcmp, "kcmp",
		"telling which files, memory and fs state tasks share"),
	FEATURE(KD_MEMFD, "memfd", NULL, true, probe_memfd, "memfd_create",
		"restoring shared anonymous memory and memfd files"),
	FEATURE(KD_PRCTL_MM_MAP, "prctl_mm_map", NULL, true, probe_prctl_mm_map,
		"prctl PR_SET_MM_MAP", "restoring brk, arguments, environment, auxv and exe link"),
	FEATURE(KD_UFFD, "uffd", NULL, false, probe_uffd, "userfaultfd",
		"lazy restore (--lazy-pages): pages filled on first touch"),
	FEATURE(KD_UFFD_NONCOOP, "uffd-noncoop", NULL, false, probe_uffd_noncoop,
		"userfaultfd fork/remap/remove/unmap events",
		"lazy restore of trees that fork or change their mappings"),
	FEATURE(KD_UFFD_WP_ASYNC, "uffd_wp_async", NULL, false, probe_uffd_wp_async,
		"userfaultfd WP_ASYNC", "dirty-memory tracking for pre-dump and incremental dumps"),
	FEATURE(KD_UFFD_WP_UNPOPULATED, "uffd_wp_unpopulated", NULL, false,
		probe_uffd_wp_unpopulated, "userfaultfd WP_UNPOPULATED",
		"dirty tracking that also sees pages first written after the pre-dump"),
	FEATURE(KD_MEM_DIRTY_TRACK, "mem_dirty_track", NULL, false, probe_mem_dirty_track,
		"uffd WP_ASYNC + PAGEMAP_SCAN written pages",
		"pre-dump and incremental dumps (--track-mem, --prev-images-dir)"),
	FEATURE(KD_SOFT_DIRTY, "soft_dirty", NULL, false, probe_soft_dirty,
		"soft-dirty bits (clear_refs 4, pagemap bit 55)",
		"pre-dump tracking where userfaultfd WP_ASYNC is missing (criu's tracking)"),
	FEATURE(KD_TCP_REPAIR, "tcp_repair", NULL, false, probe_tcp_repair,
		"TCP_REPAIR socket option",
		"dumping established TCP connections (--tcp-established)"),
	FEATURE(KD_TIMENS, "timens", NULL, false, probe_timens, "unshare(CLONE_NEWTIME)",
		"restoring monotonic and boot-time clocks of time namespaces"),
	FEATURE(KD_IO_URING, "io_uring", NULL, false, probe_io_uring, "io_uring_setup",
		"re-creating the io_uring instances of restored tasks"),
};

const struct kerndat_feature *kerndat_features(void)
{
	return features;
}

const struct kerndat_feature *kerndat_feature(enum kerndat_id id)
{
	return (unsigned int)id < _KD_COUNT ? &features[id] : NULL;
}

static char fold_dash(char c)
{
	return c == '-' ? '_' : c;
}

bool kerndat_name_matches(const char *name, const char *query)
{
	if (!name || !query)
		return false;
	for (; *name && *query; name++, query++)
		if (fold_dash(*name) != fold_dash(*query))
			return false;
	return *name == '\0' && *query == '\0';
}

const struct kerndat_feature *kerndat_find(const char *query)
{
	for (size_t i = 0; i < _KD_COUNT; i++)
		if (kerndat_name_matches(features[i].name, query) ||
		    kerndat_name_matches(features[i].alias, query))
			return &features[i];
	return NULL;
}

int probe_result_of_errno(int err)
{
	switch (err) {
	case ENOSYS:      /* no such system call */
	case EINVAL:      /* unknown flag, option or argument layout */
	case EOPNOTSUPP:  /* compiled out or not supported here */
	case ENOTTY:      /* unknown ioctl */
	case EIO:         /* unknown ptrace request */
	case ENOPROTOOPT: /* unknown socket option */
		return 0;
	default:
		return err > 0 ? -err : -EIO;
	}
}

int kerndat_probe(enum kerndat_id id)
{
	const struct kerndat_feature *f = kerndat_feature(id);
	int r;

	if (!f)
		return -EINVAL;
	r = f->probe();
	if (r > 0)
		pr_info("kernel feature %s: present", f->name);
	else if (r == 0)
		pr_info("kernel feature %s: missing", f->name);
	else
		pr_info("kernel feature %s: probe failed: %s", f->name, strerror(-r));
	return r > 0 ? 1 : r;
}

void kerndat_probe_all(struct kerndat *ret_kd)
{
	for (int id = 0; id < _KD_COUNT; id++)
		ret_kd->status[id] = kerndat_probe(id);
}

bool kerndat_required_ok(const struct kerndat *kd)
{
	for (size_t i = 0; i < _KD_COUNT; i++)
		if (features[i].required && !kerndat_has(kd, features[i].id))
			return false;
	return true;
}
