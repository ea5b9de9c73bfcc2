/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The PT_NOTE segment of an ELF core file made from images (see
 * docs/crit.md): one buffer of ELF notes, and the notes themselves built
 * from the messages of core-TID.img and mm-PID.img.
 */

#include <stddef.h>
#include <stdint.h>

#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "pstree.pb-c.h"

struct core_notes {
	uint8_t *data; /* malloc'ed */
	size_t len, cap;
};

void core_notes_done(struct core_notes *n);
/* Append a note: name "CORE" or "LINUX", name and descriptor padded to 4 bytes. */
int core_note_add(struct core_notes *n, const char *name, uint32_t type, const void *desc,
		  size_t len);

/* One file mapping, for NT_FILE. */
struct core_file_map {
	uint64_t start, end, pgoff; /* pgoff in bytes */
	const char *path;
};

struct core_process {
	const PstreeEntry *task;
	const CoreEntry *const *threads; /* threads[0] is the main thread (tid == pid) */
	const uint32_t *tids;
	size_t n_threads;
	const MmEntry *mm;
	const struct core_file_map *files;
	size_t n_files;
	const char *psargs; /* the command line, NULs turned into spaces */
};

/*
 * All the notes of a process, in the kernel's order: for the main thread
 * NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, NT_FPREGSET,
 * NT_X86_XSTATE; then NT_PRSTATUS, NT_FPREGSET, NT_X86_XSTATE for each
 * other thread. -EBADMSG (logged) if a thread has no x86_64 registers.
 */
int core_notes_build(const struct core_process *p, struct core_notes *ret_notes);
