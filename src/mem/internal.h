/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of src/mem; not part of its API (mem.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/mem.h"

#define MEM_PAGE_SIZE 4096u

/* ---- /proc/PID/smaps lines (vma-parse.c): pure functions ---- */

/* The head line of a VMA: "START-END PERM PGOFF MAJ:MIN INODE   NAME". */
struct smaps_head {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff; /* bytes */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t ino;
	uint32_t prot;    /* PROT_* */
	bool shared;      /* 's' rather than 'p' */
	const char *name; /* points into the line, newline removed; "" for none */
};

/* Parse a head line (modified in place: the newline is cut). -EINVAL if it is not one. */
int smaps_parse_head(char *line, struct smaps_head *ret_head);

/* What a "VmFlags:" line says. */
struct smaps_vmflags {
	uint32_t map_flags; /* MAP_GROWSDOWN, MAP_LOCKED, MAP_NORESERVE, MAP_HUGETLB */
	uint64_t madv;      /* 1 << MADV_x for each madvise state the VMA keeps */
	bool io_pfnmap;     /* VM_IO or VM_PFNMAP: a device mapping (or vvar) */
	bool shadow_stack;  /* VM_SHADOW_STACK */
	bool lock_onfault;  /* VM_LOCKONFAULT ("lf", with "lo"): locked as pages fault in */
	bool uffd;          /* registered with a userfaultfd ("um", "uw" or "ui") */
	bool soft_dirty;    /* VM_SOFTDIRTY ("sd"): every page of it reads as soft-dirty */
};

/* Parse the flags after "VmFlags:" (unknown ones are ignored, as CRIU does). */
void smaps_parse_vmflags(const char *flags, struct smaps_vmflags *ret);

/* ---- Copying pages into a pagemap writer (copy.c) ---- */

struct img_pagemap_writer;
struct mem_copier;

/*
 * A copier reads pages from a task (process_vm_readv on pid) or from an fd
 * (pread at the address as offset: /proc/PID/mem, a shmem file) into one
 * half of a bounded buffer while a second thread writes the other half to
 * the writer's pages file; the pagemap entries are added once their pages
 * are in the file. label names the source in messages. pid 0: every read
 * goes through src_fd.
 */
int mem_copier_open(const char *label, pid_t pid, int src_fd, struct img_pagemap_writer *w,
		    size_t buf_size, bool one_thread, struct mem_copier **ret_c);
/*
 * The same, but the pages of pid go through the splicer's pipes (one copy:
 * the task vmsplices them, the writer splices them into the file); a run the
 * task cannot vmsplice is read as above and written into the pipe. Halves
 * are the pipes' size.
 */
int mem_copier_open_splice(const char *label, pid_t pid, int src_fd, struct img_pagemap_writer *w,
			   const struct mem_splicer *sp, bool one_thread,
			   struct mem_copier **ret_c);
/*
 * Queue the pages [addr, addr + len) (page aligned), to be recorded with
 * pagemap flags `flags` (IMG_PE_*) at vaddr addr. via_fd: read them from
 * src_fd. Calls must come in increasing address order.
 */
int mem_copier_add(struct mem_copier *c, uint64_t addr, uint64_t len, uint32_t flags, bool via_fd);
/* Read pages that are gone (the task runs and unmapped them) as zeros, not as an error. */
void mem_copier_zero_unreadable(struct mem_copier *c);
/* src_fd is a file whose size is not page aligned: the tail of its last page reads as zeros. */
void mem_copier_zero_past_end(struct mem_copier *c);
/* Copy what is queued, wait until it is written and every entry added. */
int mem_copier_finish(struct mem_copier *c);
/* Stop the writer thread and free; what was not finished is dropped. */
void mem_copier_free(struct mem_copier *c);
static inline void mem_copier_freep(struct mem_copier **c)
{
	if (*c)
		mem_copier_free(*c);
}

/* ---- userfaultfd write protection (track.c), shared with snapshot.c ---- */

/* A VMA whose writes can be watched: private, not the vDSO, not huge pages. */
bool mem_vma_trackable(const struct mem_vma *v);
/*
 * Register the VMA with uffd in write-protect mode (*ret_ok). Registering
 * again with the same userfaultfd changes nothing; a VMA registered with
 * another one gives -EBUSY (logged): the task uses userfaultfd itself.
 * Other refusals (a kind of memory the kernel cannot protect in this mode)
 * leave *ret_ok false and return 0: the caller copies that VMA otherwise.
 */
int mem_uffd_register_wp(pid_t pid, int uffd, const VmaEntry *e, bool *ret_ok);

/* ---- A shared anonymous memory object (dump-shmem.c) ---- */

/*
 * Open the object that pid maps at vma (of size bytes) through
 * /proc/PID/map_files, read-only: -ENOENT (not logged) if it is unmapped.
 */
int mem_shmem_open_object(pid_t pid, const VmaEntry *vma, uint64_t size, int *ret_fd);
/* The next run of data (pages, swapped too) of the object fd in [off, size): -ENXIO if none. */
int mem_shmem_next_data(int fd, uint64_t off, uint64_t size, uint64_t *ret_start,
			uint64_t *ret_end);

/* ---- Shared anonymous memory across rounds (track-shmem.c) ---- */

/*
 * Whether object shmid can be saved against the parent image set: then
 * its pages written since (one bit per page, *ret_npages of them; pages
 * past the end were not written) in *ret_bits.
 */
bool mem_shmem_track_written(const struct mem_shmem_track *t, uint64_t shmid,
			     const uint8_t **ret_bits, uint64_t *ret_npages);

/* ---- Pagemap entries (scan.c, track-softdirty.c) ---- */

/* n entries of /proc/PID/pagemap, for the pages from addr on. */
typedef int (*mem_pme_fn)(void *arg, const uint64_t *pme, size_t n, uint64_t addr);
/* The entries of [start, end) read in bounded chunks, each handed to fn. */
int mem_scan_pagemap(struct mem_scan *s, uint64_t start, uint64_t end, mem_pme_fn fn, void *arg);
/*
 * The frame of the shared zero page for a scan opened with MEM_SCAN_NO_IOCTL
 * (looked up in /proc/self/pagemap; needs CAP_SYS_ADMIN), 0 if unknown.
 */
uint64_t mem_scan_zero_pfn(const struct mem_scan *s);

/* ---- Soft-dirty tracking (track-softdirty.c) ---- */

/* What is known of the pages of a range whose pagemap entries are classified. */
struct mem_sd_range {
	uint64_t zero_pfn; /* the zero page's frame, 0 if unknown */
	bool known;        /* the parent image set holds the pages not soft-dirty since its scan */
	bool via_fd;       /* the task cannot read them itself: read through /proc/PID/mem */
};

/*
 * The extents of n pages from addr on (page aligned, inside one VMA) whose
 * /proc/PID/pagemap entries are pme[0..n): added to out in address order
 * (runs joined by mem_extents_add), counted in st. Pure: docs/predump.md
 * tells which page goes where.
 */
int mem_softdirty_classify(const uint64_t *pme, size_t n, uint64_t addr,
			   const struct mem_sd_range *rng, struct mem_extents *out,
			   struct mem_dump_stats *st);

/*
 * Frozen pid's private pages into out, as mem_track_collect does, with a
 * page IMG_PE_PARENT if its soft-dirty bit is clear in a VMA not new since
 * the parent's scan (has_parent: the bits were cleared at its end).
 */
int mem_softdirty_collect(pid_t pid, bool has_parent, const struct mem_vmas *vmas,
			  struct mem_extents *out, struct mem_dump_stats *st);
/* Clear the soft-dirty bits of frozen pid (/proc/PID/clear_refs): logged on failure. */
int mem_softdirty_clear(pid_t pid);
