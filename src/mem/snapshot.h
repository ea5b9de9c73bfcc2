/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by snapshot.c (the freeze's layout, the background copy) and snapshot-arm.c. */

#include <pthread.h>

#include "mem/internal.h"

/* Pages of one run, at a fixed place in the pages file. */
struct snap_extent {
	uint64_t start, end;
	uint64_t first; /* index of its first page in pages-N.img */
	bool via_fd;    /* read through /proc/PID/mem (the task cannot read it) */
	bool protect;   /* write-protected, copied once the task runs; else copied frozen */
	bool need_wp;   /* protect: to be write-protected at the freeze (not armed before) */
};

struct snap_arm;

struct snap_range {
	uint64_t start, end;
};

struct snap_ranges {
	struct snap_range *v;
	size_t n, cap;
};

/* Append [start, end), joined to the last range if they touch or overlap. */
int snap_ranges_add(struct snap_ranges *r, uint64_t start, uint64_t end);
void snap_ranges_release(struct snap_ranges *r);

/*
 * A mapping of a shared anonymous object (snapshot-shmem.c), in the list of
 * the object (peer: the process) and in the list of the process (peer: the
 * object): [start, end) in the process shows the object from pgoff.
 */
struct snap_shmap {
	struct mem_snapshot *peer;
	uint64_t start, end, pgoff;
};

/*
 * The snapshot of a process's private memory, or of a shared anonymous
 * object (shobj): then its extents are offsets in the object, read through
 * mem_fd (the object), and its pages are protected and released in every
 * mapping of it (maps) instead of one address space.
 */
struct mem_snapshot {
	char label[32];
	pid_t pid;
	int uffd; /* the caller's */
	int mem_fd;
	struct img_pagemap_writer *w;
	int pages_fd;
	struct mem_scan *scan[2]; /* one per copying thread: [0] background, [1] faults */
	struct snap_extent *x;
	size_t n, cap;
	uint64_t npages;
	uint64_t *claimed, *done; /* bitmaps over the pages file */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int err; /* the first failure, under lock */
	uint64_t pages_faulted;
	struct snap_arm *arm;    /* armed while the task ran (snapshot-arm.c), else NULL */
	bool shobj;              /* a shared anonymous object, pid 0 */
	uint64_t shmid;          /* shobj: its id */
	bool copied;             /* shobj: the background copy of it is over (under lock) */
	struct snap_shmap *maps; /* shobj: its mappings; else the process's mappings of shobjs */
	size_t nmaps;
};

/* snapshot.c */
/* pid 0: a shared object, read through the fd given later (mem_fd). */
int snap_new(pid_t pid, int uffd, struct mem_snapshot **ret);
int snap_add_extent(struct mem_snapshot *s, uint64_t start, uint64_t end, bool via_fd, bool protect,
		    bool need_wp);
/* The pages of VMA v found, and registered (protected at the freeze) if it can be. */
int snap_collect_vma(struct mem_snapshot *s, const struct mem_vma *v, struct mem_dump_stats *st);
/* The pages in [start, end) of VMA v (registered), to be protected at the freeze. */
int snap_scan_range(struct mem_snapshot *s, const struct mem_vma *v, uint64_t start, uint64_t end,
		    struct mem_dump_stats *st);
/* Frozen, once the extents are known: the pagemap, the pages file, protection, frozen copies. */
int snap_layout(struct mem_snapshot *s, struct img_dir *dir, uint64_t id, uint32_t pages_id);
/*
 * Write-protect [start, end) (on), or release it and wake its writers.
 * While an event (a drop, an unmap) waits to be read the kernel refuses
 * with -EAGAIN: wait: try again until the thread that reads the
 * userfaultfd has read it; else return -EAGAIN (that thread is the caller).
 */
int snap_uffd_protect(struct mem_snapshot *s, uint64_t start, uint64_t end, bool on, bool wait);
/* Release the ranges held (writers waiting); those refused with -EAGAIN stay held. */
void snap_release_held(struct mem_snapshot *s, struct snap_ranges *held);
/*
 * Every message waiting on the userfaultfd (O_NONBLOCK) handed to fn, until
 * every writer fn held is let go: a release refused while an event waits is
 * tried again once the event is read.
 */
typedef void (*snap_msg_fn)(struct mem_snapshot *s, const struct uffd_msg *m,
			    struct snap_ranges *held, void *arg);
void snap_drain(struct mem_snapshot *s, snap_msg_fn fn, void *arg);
void snap_set_err(struct mem_snapshot *s, int r);
/*
 * Copy the pages [i0, i1) of extent x of s not claimed by another thread
 * (thread 0, the background: and release them; thread 1, the fault server:
 * and wait until the others' are copied too, the caller releases them).
 */
int snap_copy_range(struct mem_snapshot *s, int thread, const struct snap_extent *x, uint64_t i0,
		    uint64_t i1, uint8_t *buf);

/* snapshot-shmem.c */
/* A VMA of shared anonymous memory that a snapshot copies in the background (not SysV). */
bool snap_shmem_vma(const VmaEntry *e);
/* Object obj's pages [start, end) (offsets), just read, are as at the freeze in every mapping. */
int snap_shmem_verify(struct mem_snapshot *obj, int thread, uint64_t start, uint64_t end);
/* Release obj's pages [start, end) in every mapping (wait: as snap_uffd_protect; else best effort).
 */
int snap_shmem_release(struct mem_snapshot *obj, uint64_t start, uint64_t end, bool wait);
/*
 * A write fault of process s at addr: if addr is in one of its mappings of
 * a shared object, the object's 64 KiB block there is copied first, then
 * released in the other mappings and held to be released in this one; true.
 * Else false: not shared memory.
 */
bool snap_shmem_serve(struct mem_snapshot *s, uint64_t addr, uint8_t *buf,
		      struct snap_ranges *held);
/* Process s forked while its shared objects were being copied: the child's writes go unseen. */
void snap_shmem_forked(struct mem_snapshot *s);

/* snapshot-arm.c */
void snap_arm_free(struct mem_snapshot *s);
/*
 * Frozen: if the shared VMA e of s was registered and protected whole when
 * armed and not unmapped since, protect again what was written or dropped
 * in it since (*ret: the result) and true; else false: it is new, moved or
 * grown, and must be registered and protected whole.
 */
bool snap_arm_reprotect_shared(struct mem_snapshot *s, const VmaEntry *e, int *ret);
