/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What this restore does not handle yet, refused by name before anything is
 * created: a task that would come back different is worse than no task.
 * (File and memory kinds are checked where files and VMAs are planned.)
 */
#include "restore/internal.h"

static const char *task_state_name(uint32_t state)
{
	switch (state) {
	case 2:
		return "dead";
	case 3:
		return "stopped";
	case 6:
		return "a zombie";
	default:
		return "in an unknown state";
	}
}

static int check_task(struct rst_ctx *c)
{
	const PstreeEntry *item = c->img.item;
	const CoreEntry *core = c->img.core;
	const ThreadCoreEntry *tc = core->thread_core;

	if (core->mtype != CORE_ENTRY__MARCH__X86_64 || !core->thread_info) {
		rst_err(c,
			"core-%d.img is not an x86_64 task (machine type %d): only x86_64 is "
			"supported",
			c->pid, core->mtype);
		return -EOPNOTSUPP;
	}
	if (!core->tc || !tc) {
		rst_err(c, "core-%d.img lacks the task or thread part", c->pid);
		return -EBADMSG;
	}
	for (size_t i = 1; i < c->img.nthreads; i++) {
		const CoreEntry *th = c->img.thread_cores[i];

		if (th->mtype != CORE_ENTRY__MARCH__X86_64 || !th->thread_info ||
		    !th->thread_info->fpregs || !th->thread_core) {
			rst_err(c, "core-%u.img is not a whole x86_64 thread", item->threads[i]);
			return -EBADMSG;
		}
	}
	if (core->tc->task_state != RST_TASK_ALIVE && core->tc->task_state != RST_TASK_STOPPED) {
		rst_err(c, "the task was %s when dumped; only running and stopped tasks are "
			   "supported yet",
			task_state_name(core->tc->task_state));
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < core->tc->n_sigactions; i++)
		if (core->tc->sigactions[i]->has_compat_sigaction &&
		    core->tc->sigactions[i]->compat_sigaction) {
			rst_err(c, "the task has 32-bit signal handlers; compat tasks are not "
				   "supported");
			return -EOPNOTSUPP;
		}
	return 0;
}

/* 32-bit TLS descriptors (set_thread_area) are only used by 32-bit code. */
static int check_arch(struct rst_ctx *c)
{
	const ThreadInfoX86 *ti = c->img.core->thread_info;
	const UserX86XsaveEntry *xs = ti->fpregs ? ti->fpregs->xsave : NULL;

	for (size_t i = 0; i < ti->n_tls; i++)
		if (!ti->tls[i]->seg_not_present) {
			rst_err(c,
				"the task has a TLS descriptor in GDT entry %u; 32-bit TLS is not "
				"supported yet",
				ti->tls[i]->entry_number);
			return -EOPNOTSUPP;
		}
	if (xs && xs->cet && xs->cet->cet) {
		rst_err(c, "the task uses CET (shadow stacks); not supported yet");
		return -EOPNOTSUPP;
	}
	if (!ti->fpregs) {
		rst_err(c, "core-%d.img has no FPU state", c->pid);
		return -EBADMSG;
	}
	return 0;
}

/* The namespaces of the task must be those of the dump's root, i.e. stasis's own. */
static int check_namespaces(struct rst_ctx *c)
{
	const TaskKobjIdsEntry *ids = c->img.ids ? c->img.ids : c->img.core->ids;
	const TaskKobjIdsEntry *root = c->img.inv->root_ids;
	static const struct {
		const char *name;
		size_t has, val;
	} ns[] = {
#define NS(n) \
	{#n, offsetof(TaskKobjIdsEntry, has_##n##_ns_id), offsetof(TaskKobjIdsEntry, n##_ns_id)}
		NS(pid), NS(net), NS(ipc), NS(uts), NS(mnt), NS(user), NS(cgroup), NS(time),
#undef NS
	};

	if (!ids)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
		const char *a = (const char *)ids, *b = (const char *)root;
		uint32_t id = *(const uint32_t *)(a + ns[i].val);

		if (!*(const protobuf_c_boolean *)(a + ns[i].has))
			continue;
		if (!root || !*(const protobuf_c_boolean *)(b + ns[i].has) ||
		    *(const uint32_t *)(b + ns[i].val) != id) {
			rst_err(c,
				"the task lived in its own %s namespace; restoring namespaces is "
				"not supported yet",
				ns[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int check_mm(struct rst_ctx *c)
{
	if (c->img.mm->n_aios) {
		rst_err(c, "the task has %zu AIO rings; not supported yet", c->img.mm->n_aios);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * The root's session or group, when not its own, belongs to a process not
 * restored here. (A child's session is its parent's or its own: images.c.)
 */
static int check_session(struct rst_ctx *c)
{
	const PstreeEntry *item = c->img.item;

	if (c->index == 0 && item->sid != item->pid && !c->opts->shell_job) {
		rst_err(c,
			"the task was in session %u, led by another process; restore it with "
			"--shell-job to put it into this session, or dump the session leader",
			item->sid);
		return -EOPNOTSUPP;
	}
	if (item->sid == item->pid && item->pgid != item->pid) {
		rst_err(c, "the task leads session %u but is in process group %u", item->sid,
			item->pgid);
		return -EBADMSG;
	}
	return 0;
}

int rst_check_supported(struct rst_ctx *c)
{
	int r;

	r = check_task(c);
	if (r == 0)
		r = rst_seccomp_check(c);
	if (r == 0)
		r = check_arch(c);
	if (r == 0)
		r = check_namespaces(c);
	if (r == 0)
		r = check_mm(c);
	if (r == 0)
		r = check_session(c);
	return r;
}
