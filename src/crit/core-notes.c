/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ELF notes of a core file, from the images of a process (x86_64). */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#include "arch/x86/core.h"
#include "base/log.h"
#include "base/macro.h"
#include "crit/core-notes.h"
#include "crit/core-xsave.h"

void core_notes_done(struct core_notes *n)
{
	free(n->data);
	*n = (struct core_notes){};
}

int core_note_add(struct core_notes *n, const char *name, uint32_t type, const void *desc,
		  size_t len)
{
	Elf64_Nhdr h = {.n_namesz = strlen(name) + 1, .n_descsz = len, .n_type = type};
	size_t need = sizeof(h) + ALIGN_UP(h.n_namesz, 4) + ALIGN_UP(len, 4);
	uint8_t *p;

	if (n->len + need > n->cap) {
		size_t cap = MAX(n->cap * 2, n->len + need + 4096);

		p = realloc(n->data, cap);
		if (!p)
			return -ENOMEM;
		n->data = p, n->cap = cap;
	}
	p = n->data + n->len;
	memset(p, 0, need);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, h.n_namesz - 1);
	memcpy(p + sizeof(h) + ALIGN_UP(h.n_namesz, 4), desc, len);
	n->len += need;
	return 0;
}

static uint64_t blocked_signals(const CoreEntry *c)
{
	if (c->thread_core && c->thread_core->has_blk_sigset)
		return c->thread_core->blk_sigset;
	return c->tc ? c->tc->blk_sigset : 0;
}

static int add_prstatus(struct core_notes *n, const struct core_process *p, size_t i)
{
	const CoreEntry *c = p->threads[i];
	struct elf_prstatus st = {};
	struct x86_regs regs;
	int r;

	if (c->mtype != CORE_ENTRY__MARCH__X86_64 || !c->thread_info) {
		pr_err("core-%u.img: no x86_64 registers (mtype %d)", p->tids[i], c->mtype);
		return -EBADMSG;
	}
	r = x86_core_to_regs(c->thread_info->gpregs, &regs);
	if (r < 0)
		return r;
	st.pr_pid = (pid_t)p->tids[i];
	st.pr_ppid = (pid_t)p->task->ppid;
	st.pr_pgrp = (pid_t)p->task->pgid;
	st.pr_sid = (pid_t)p->task->sid;
	st.pr_sighold = blocked_signals(c);
	memcpy(&st.pr_reg, &regs.gpr, sizeof(st.pr_reg));
	st.pr_fpvalid = 1;
	return core_note_add(n, "CORE", NT_PRSTATUS, &st, sizeof(st));
}

static int add_prpsinfo(struct core_notes *n, const struct core_process *p)
{
	const CoreEntry *c = p->threads[0];
	const ThreadCoreEntry *tc = c->thread_core;
	struct elf_prpsinfo ps = {.pr_state = 1, .pr_sname = 'S'};

	if (tc && tc->has_sched_nice)
		ps.pr_nice = (char)tc->sched_nice;
	if (tc && tc->creds)
		ps.pr_uid = tc->creds->uid, ps.pr_gid = tc->creds->gid;
	ps.pr_flag = c->tc ? c->tc->flags : 0;
	ps.pr_pid = (pid_t)p->task->pid;
	ps.pr_ppid = (pid_t)p->task->ppid;
	ps.pr_pgrp = (pid_t)p->task->pgid;
	ps.pr_sid = (pid_t)p->task->sid;
	if (c->tc)
		strncpy(ps.pr_fname, c->tc->comm, sizeof(ps.pr_fname) - 1);
	strncpy(ps.pr_psargs, p->psargs, sizeof(ps.pr_psargs) - 1);
	return core_note_add(n, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
}

/* No signal made this core: a zero siginfo, as for a process that was only stopped. */
static int add_siginfo(struct core_notes *n)
{
	siginfo_t si = {};

	return core_note_add(n, "CORE", NT_SIGINFO, &si, sizeof(si));
}

static int add_auxv(struct core_notes *n, const MmEntry *mm)
{
	return core_note_add(n, "CORE", NT_AUXV, mm->mm_saved_auxv,
			     mm->n_mm_saved_auxv * sizeof(uint64_t));
}

/* NT_FILE: count, page size, {start, end, offset in pages} per mapping, then the names. */
static int add_files(struct core_notes *n, const struct core_process *p)
{
	size_t len = 2 * 8 + p->n_files * 3 * 8, off;
	_cleanup_free_ uint64_t *d = NULL;

	for (size_t i = 0; i < p->n_files; i++)
		len += strlen(p->files[i].path) + 1;
	d = calloc(1, ALIGN_UP(len, 8));
	if (!d)
		return -ENOMEM;
	d[0] = p->n_files;
	d[1] = 4096;
	off = 2 + 3 * p->n_files;
	for (size_t i = 0; i < p->n_files; i++) {
		d[2 + 3 * i] = p->files[i].start;
		d[3 + 3 * i] = p->files[i].end;
		d[4 + 3 * i] = p->files[i].pgoff / 4096;
	}
	off *= 8;
	for (size_t i = 0; i < p->n_files; i++) {
		size_t l = strlen(p->files[i].path) + 1;

		memcpy((char *)d + off, p->files[i].path, l);
		off += l;
	}
	return core_note_add(n, "CORE", NT_FILE, d, len);
}

/* NT_FPREGSET (the FXSAVE image) and, with XSAVE, NT_X86_XSTATE (the whole area). */
static int add_fpu(struct core_notes *n, const struct core_process *p, size_t i)
{
	struct core_xstate xs;
	int r;

	r = core_xstate_build(p->threads[i]->thread_info->fpregs, p->tids[i], &xs);
	if (r < 0)
		return r;
	r = core_note_add(n, "CORE", NT_FPREGSET, xs.area, 512);
	if (r == 0 && xs.xsave)
		r = core_note_add(n, "LINUX", NT_X86_XSTATE, xs.area, xs.size);
	core_xstate_done(&xs);
	return r;
}

int core_notes_build(const struct core_process *p, struct core_notes *ret_notes)
{
	struct core_notes n = {};
	int r = 0;

	for (size_t i = 0; i < p->n_threads && r == 0; i++) {
		r = add_prstatus(&n, p, i);
		if (r == 0 && i == 0)
			r = add_prpsinfo(&n, p);
		if (r == 0 && i == 0)
			r = add_siginfo(&n);
		if (r == 0 && i == 0)
			r = add_auxv(&n, p->mm);
		if (r == 0 && i == 0)
			r = add_files(&n, p);
		if (r == 0)
			r = add_fpu(&n, p, i);
	}
	if (r < 0) {
		core_notes_done(&n);
		return r;
	}
	*ret_notes = n;
	return 0;
}
