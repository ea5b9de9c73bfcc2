/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A child with a known memory layout for the src/mem tests. layout_start()
 * forks it, reads the addresses it reports through a pipe and stops it
 * (SIGSTOP); layout_stop() kills and reaps it by pid. Every region is
 * isolated by unmapped pages so that each keeps its own VMAs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/mem.h"

#define PG 4096ul

#define ANON_PAGES 64
#define SPARSE_SIZE (1ul << 30)
#define FILE_PAGES 16
#define FILE_COW_PAGE 5
#define SHARED_PAGES 8
#define NONE_PAGES 4
#define PROT_PAGES 8   /* 0-3 made read-only, 4-7 PROT_NONE, after being written */
#define MADV_PAGES 12  /* 3 x 4 pages: MADV_DONTFORK, MADV_DONTDUMP, MADV_HUGEPAGE */
#define LOCKED_PAGES 4 /* page 1 mlock()ed */
#define GROWS_PAGES 4
#define ZERO_PAGES 16 /* all read (the zero page), page ZERO_WRITTEN written */
#define ZERO_WRITTEN 3

/* Sparse pages touched: the first, the middle and the last. */
static const uint64_t sparse_touched[3] = {0, SPARSE_SIZE / 2, SPARSE_SIZE - PG};

struct layout {
	uint64_t anon, sparse, file, shared, none, prot, madv, locked, grows, zero;
	uint64_t stack_var; /* an address in the child's stack */
};

struct child {
	pid_t pid;
	char *dir;       /* scratch directory (the mapped file, images) */
	char *file_path; /* the file mapped privately */
	struct layout l;
};

/* The byte the child writes at offset i of region number `region`. */
static inline uint8_t pattern(unsigned region, uint64_t i)
{
	return (uint8_t)((i * 131 + region * 17 + i / PG) | 1);
}

/* Fork the child and stop it; false on failure (the test fails). */
bool layout_start(struct child *c);
/* Kill and reap the child, remove the scratch directory. Safe to call twice. */
void layout_stop(struct child *c);

/* Read the child's memory (/proc/PID/mem, which reads PROT_NONE too). */
bool child_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* The VMA of vmas that contains addr, or NULL. */
const struct mem_vma *find_vma(const struct mem_vmas *vmas, uint64_t addr);

/* The [start, end) of the line of /proc/PID/maps named `name` ("[vvar]"); false if none. */
bool maps_range(pid_t pid, const char *name, uint64_t *start, uint64_t *end);

/* An empty image directory under dir, opened. */
struct img_dir *make_img_dir(const char *parent, const char *name);
