/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core-PID.img: registers, FPU, TLS, and the task's state (signals, timers,
 * limits, creds, rseq ...). Read from /proc and ptrace where the kernel
 * tells it from outside, and with single remote syscalls where only the task
 * can say (its sigactions, sigaltstack, itimers, prctl values).
 */
#include <asm/ldt.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "compat/ptrace.h"

#include "arch/x86/core.h"
#include "arch/x86/syscall.h"
#include "base/log.h"
#include "core.pb-c.h"
#include "dump/internal.h"
#include "dump/remote.h"
#include "image/image.h"

/* CRIU's task states (TaskCoreEntry.task_state). */
#define TASK_ALIVE 0x1
#define TASK_STOPPED 0x3

#define NSIG_MAX 64

/* The kernel's struct sigaction for rt_sigaction on x86_64. */
struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

/*
 * Whether the action of sig is worth a remote rt_sigaction: it has a
 * handler or is ignored (/proc's SigCgt, SigIgn), or it is SIGCHLD, whose
 * SA_NOCLDSTOP and SA_NOCLDWAIT act without a handler. Any other is
 * SIG_DFL, and its flags, mask and restorer change nothing: it is written
 * as the kernel leaves it after exec (all zero), which saves some 60 round
 * trips per process while it is frozen.
 */
static bool action_matters(const struct proc_status *st, int sig)
{
	uint64_t bit = UINT64_C(1) << (sig - 1);

	return sig == SIGCHLD || (st->sigcgt & bit) || (st->sigign & bit);
}

static int dump_sigactions(struct remote *rm, const struct proc_status *st, struct arena *a,
			   TaskCoreEntry *tc)
{
	tc->sigactions = arena_array(a, NSIG_MAX, sizeof(SaEntry *));
	if (!tc->sigactions)
		return -ENOMEM;
	/* CRIU's layout: signals 1..64 but SIGKILL and SIGSTOP, in order. */
	for (int sig = 1; sig <= NSIG_MAX; sig++) {
		const unsigned long args[6] = {(unsigned long)sig, 0, 0, 8};
		struct ksigaction ksa = {0};
		SaEntry *sa;
		int r;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		r = action_matters(st, sig) ? remote_call_out(rm, "rt_sigaction", SYS_rt_sigaction,
							      args, 2, &ksa, sizeof(ksa))
					    : 0;
		if (r < 0)
			return r;
		sa = ARENA_MSG(a, SaEntry, SA_ENTRY__INIT);
		if (!sa)
			return -ENOMEM;
		sa->sigaction = ksa.handler;
		sa->flags = ksa.flags;
		sa->restorer = ksa.restorer;
		sa->mask = ksa.mask;
		sa->has_compat_sigaction = true;
		sa->compat_sigaction = false;
		tc->sigactions[tc->n_sigactions++] = sa;
	}
	return 0;
}

static int dump_itimers(struct remote *rm, struct arena *a, TaskCoreEntry *tc)
{
	ItimerEntry **slots[3];
	TaskTimersEntry *t = ARENA_MSG(a, TaskTimersEntry, TASK_TIMERS_ENTRY__INIT);

	if (!t)
		return -ENOMEM;
	slots[ITIMER_REAL] = &t->real;
	slots[ITIMER_VIRTUAL] = &t->virt;
	slots[ITIMER_PROF] = &t->prof;
	for (int which = 0; which < 3; which++) {
		const unsigned long args[6] = {(unsigned long)which};
		struct itimerval v;
		ItimerEntry *e = ARENA_MSG(a, ItimerEntry, ITIMER_ENTRY__INIT);
		int r;

		if (!e)
			return -ENOMEM;
		r = remote_call_out(rm, "getitimer", SYS_getitimer, args, 1, &v, sizeof(v));
		if (r < 0)
			return r;
		e->isec = (uint64_t)v.it_interval.tv_sec,
		e->iusec = (uint64_t)v.it_interval.tv_usec;
		e->vsec = (uint64_t)v.it_value.tv_sec, e->vusec = (uint64_t)v.it_value.tv_usec;
		*slots[which] = e;
	}
	tc->timers = t;
	return 0;
}

static int dump_posix_timers(struct dump_ctx *ctx, struct remote *rm, struct arena *a,
			     TaskTimersEntry *t)
{
	_cleanup_free_ struct proc_posix_timer *timers = NULL;
	size_t n = 0;
	int r;

	r = proc_read_timers(ctx->pid, &timers, &n);
	if (r < 0 || n == 0)
		return r;
	t->posix = arena_array(a, n, sizeof(PosixTimerEntry *));
	if (!t->posix)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const unsigned long args[6] = {(unsigned long)timers[i].id};
		PosixTimerEntry *e = ARENA_MSG(a, PosixTimerEntry, POSIX_TIMER_ENTRY__INIT);
		struct itimerspec v;
		long overrun;

		if (!e)
			return -ENOMEM;
		r = remote_call_out(rm, "timer_gettime", SYS_timer_gettime, args, 1, &v, sizeof(v));
		if (r < 0)
			return r;
		r = remote_call(rm, "timer_getoverrun", SYS_timer_getoverrun,
				(unsigned long)timers[i].id, 0, 0, 0, &overrun);
		if (r < 0)
			return r;
		e->it_id = (uint32_t)timers[i].id;
		e->clock_id = (uint32_t)timers[i].clock_id;
		e->si_signo = (uint32_t)timers[i].signo;
		e->it_sigev_notify = (uint32_t)timers[i].notify;
		e->sival_ptr = timers[i].sigval;
		e->overrun = (uint32_t)overrun;
		e->isec = (uint64_t)v.it_interval.tv_sec,
		e->insec = (uint64_t)v.it_interval.tv_nsec;
		e->vsec = (uint64_t)v.it_value.tv_sec, e->vnsec = (uint64_t)v.it_value.tv_nsec;
		if (timers[i].notify & SIGEV_THREAD_ID) {
			e->has_notify_thread_id = true;
			e->notify_thread_id = timers[i].notify_pid;
		}
		t->posix[t->n_posix++] = e;
	}
	return 0;
}

static int dump_rlimits(struct dump_ctx *ctx, struct arena *a, TaskCoreEntry *tc)
{
	TaskRlimitsEntry *rl = ARENA_MSG(a, TaskRlimitsEntry, TASK_RLIMITS_ENTRY__INIT);
	struct proc_limits lim;
	int r;

	/* From /proc: prlimit() on a task of another uid needs CAP_SYS_RESOURCE. */
	r = proc_read_limits(ctx->pid, &lim);
	if (r < 0)
		return r;
	if (!rl || !(rl->rlimits = arena_array(a, PROC_RLIMIT_COUNT, sizeof(RlimitEntry *))))
		return -ENOMEM;
	for (int i = 0; i < PROC_RLIMIT_COUNT; i++) {
		RlimitEntry *e = ARENA_MSG(a, RlimitEntry, RLIMIT_ENTRY__INIT);

		if (!e)
			return -ENOMEM;
		e->cur = lim.lim[i].rlim_cur;
		e->max = lim.lim[i].rlim_max;
		rl->rlimits[rl->n_rlimits++] = e;
	}
	tc->rlimits = rl;
	return 0;
}

/* Pending signals, left in place (PTRACE_PEEKSIGINFO does not dequeue). */
static int dump_pending(pid_t tid, bool shared, struct arena *a, SignalQueueEntry **ret)
{
	SignalQueueEntry *q = ARENA_MSG(a, SignalQueueEntry, SIGNAL_QUEUE_ENTRY__INIT);
	siginfo_t si[32];

	if (!q)
		return -ENOMEM;
	for (uint64_t off = 0;; off += ELEMENTSOF(si)) {
		struct ptrace_peeksiginfo_args args = {
			.off = off,
			.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
			.nr = ELEMENTSOF(si),
		};
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, si);
		SiginfoEntry **grown;

		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		grown = arena_array(a, q->n_signals + (size_t)n, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (q->n_signals)
			memcpy(grown, q->signals, q->n_signals * sizeof(*grown));
		q->signals = grown;
		for (long i = 0; i < n; i++) {
			SiginfoEntry *e = ARENA_MSG(a, SiginfoEntry, SIGINFO_ENTRY__INIT);
			void *copy = arena_alloc(a, sizeof(si[i]));

			if (!e || !copy)
				return -ENOMEM;
			memcpy(copy, &si[i], sizeof(si[i]));
			e->siginfo = (ProtobufCBinaryData){.len = sizeof(si[i]), .data = copy};
			q->signals[q->n_signals++] = e;
		}
	}
	*ret = q;
	return 0;
}

static void split_caps(struct arena *a, uint64_t caps, size_t *ret_n, uint32_t **ret)
{
	uint32_t *v = arena_array(a, 2, sizeof(uint32_t));

	if (!v)
		return;
	v[0] = (uint32_t)caps;
	v[1] = (uint32_t)(caps >> 32);
	*ret = v;
	*ret_n = 2;
}

static int dump_creds(const struct dump_thread *t, struct arena *a, ThreadCoreEntry *th)
{
	const struct proc_status *st = &t->status;
	struct remote *rm = (struct remote *)&t->rm;
	CredsEntry *c = ARENA_MSG(a, CredsEntry, CREDS_ENTRY__INIT);
	long secbits;
	int r;

	if (!c)
		return -ENOMEM;
	r = remote_call(rm, "prctl(PR_GET_SECUREBITS)", SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0,
			&secbits);
	if (r < 0)
		return r;
	c->uid = st->uid[0], c->euid = st->uid[1], c->suid = st->uid[2], c->fsuid = st->uid[3];
	c->gid = st->gid[0], c->egid = st->gid[1], c->sgid = st->gid[2], c->fsgid = st->gid[3];
	split_caps(a, st->cap_inh, &c->n_cap_inh, &c->cap_inh);
	split_caps(a, st->cap_prm, &c->n_cap_prm, &c->cap_prm);
	split_caps(a, st->cap_eff, &c->n_cap_eff, &c->cap_eff);
	split_caps(a, st->cap_bnd, &c->n_cap_bnd, &c->cap_bnd);
	split_caps(a, st->cap_amb, &c->n_cap_amb, &c->cap_amb);
	if (!c->cap_inh || !c->cap_prm || !c->cap_eff || !c->cap_bnd || !c->cap_amb)
		return -ENOMEM;
	c->secbits = (uint32_t)secbits;
	c->groups = arena_array(a, st->n_groups, sizeof(uint32_t));
	if (st->n_groups && !c->groups)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_groups; i++)
		c->groups[i] = st->groups[i];
	c->n_groups = st->n_groups;
	c->has_no_new_privs = true;
	c->no_new_privs = st->no_new_privs;
	th->creds = c;
	return 0;
}

static int dump_sched(pid_t pid, ThreadCoreEntry *th)
{
	struct sched_param sp;
	int policy, nice;

	policy = sched_getscheduler(pid);
	if (policy < 0 || sched_getparam(pid, &sp) < 0)
		return negative_errno();
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)pid);
	if (errno)
		return negative_errno();
	th->has_sched_nice = th->has_sched_policy = th->has_sched_prio = true;
	th->sched_nice = nice;
	th->sched_policy = (uint32_t)policy; /* with SCHED_RESET_ON_FORK, as CRIU keeps it */
	th->sched_prio = (uint32_t)sp.sched_priority;
	return 0;
}

static int dump_rseq(pid_t tid, struct arena *a, ThreadCoreEntry *th)
{
	struct ptrace_rseq_configuration conf;
	RseqEntry *e;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(conf), &conf) != sizeof(conf))
		return negative_errno();
	if (!conf.rseq_abi_pointer)
		return 0; /* never registered */
	e = ARENA_MSG(a, RseqEntry, RSEQ_ENTRY__INIT);
	if (!e)
		return -ENOMEM;
	e->rseq_abi_pointer = conf.rseq_abi_pointer;
	e->rseq_abi_size = conf.rseq_abi_size;
	e->signature = conf.signature;
	th->rseq_entry = e;
	return 0;
}

static int dump_thread_core(struct dump_ctx *ctx, struct dump_thread *t, struct arena *a,
			    ThreadCoreEntry **ret)
{
	struct remote *rm = &t->rm;
	ThreadCoreEntry *th = ARENA_MSG(a, ThreadCoreEntry, THREAD_CORE_ENTRY__INIT);
	ThreadSasEntry *sas = ARENA_MSG(a, ThreadSasEntry, THREAD_SAS_ENTRY__INIT);
	const unsigned long none[6] = {0};
	stack_t ss;
	uint64_t head, len;
	int pdeath, r;

	if (!th || !sas)
		return -ENOMEM;
	if (syscall(SYS_get_robust_list, t->tid, &head, &len) < 0)
		return negative_errno();
	th->futex_rla = t->futex_rla = head;
	th->futex_rla_len = (uint32_t)len;
	r = remote_call_out(rm, "sigaltstack", SYS_sigaltstack, none, 1, &ss, sizeof(ss));
	if (r < 0)
		return r;
	sas->ss_sp = (uint64_t)(uintptr_t)ss.ss_sp;
	sas->ss_size = ss.ss_size;
	sas->ss_flags = (uint32_t)ss.ss_flags;
	th->sas = sas;
	{
		const unsigned long args[6] = {PR_GET_PDEATHSIG};

		r = remote_call_out(rm, "prctl(PR_GET_PDEATHSIG)", SYS_prctl, args, 1, &pdeath,
				    sizeof(pdeath));
	}
	if (r < 0)
		return r;
	th->has_pdeath_sig = true;
	th->pdeath_sig = (uint32_t)pdeath;
	/* Not in CRIU's images: a stasis extension field. */
	r = proc_read_timerslack_ns(t->tid, &th->timer_slack_ns);
	if (r < 0)
		return r;
	th->has_timer_slack_ns = true;
	if (t->restart_code) {
		th->has_syscall_restart = true;
		th->syscall_restart = t->restart_code;
	}
	th->has_blk_sigset = true;
	th->blk_sigset = rsys_task_sigmask(t->task);
	th->comm = arena_strdup(a, t->status.name);
	if (!th->comm)
		return -ENOMEM;
	if ((r = dump_sched(t->tid, th)) < 0 || (r = dump_creds(t, a, th)) < 0 ||
	    (r = dump_rseq(t->tid, a, th)) < 0 || (r = dump_seccomp(ctx, t, a, th)) < 0 ||
	    (r = dump_pending(t->tid, false, a, &th->signals_p)) < 0)
		return r;
	*ret = th;
	return 0;
}

static int dump_task_core(struct dump_ctx *ctx, struct remote *rm, struct arena *a,
			  TaskCoreEntry **ret)
{
	TaskCoreEntry *tc = ARENA_MSG(a, TaskCoreEntry, TASK_CORE_ENTRY__INIT);
	uint32_t personality;
	int32_t oom;
	uint32_t loginuid;
	int subreaper, stop_sig, r;

	if (!tc)
		return -ENOMEM;
	stop_sig = rsys_task_group_stop(dump_leader(ctx)->task);
	tc->task_state = stop_sig ? TASK_STOPPED : TASK_ALIVE;
	if (stop_sig) {
		tc->has_stop_signo = true;
		tc->stop_signo = (uint32_t)stop_sig;
	}
	if ((r = proc_read_personality(ctx->pid, &personality)) < 0 ||
	    (r = proc_read_oom_score_adj(ctx->pid, &oom)) < 0 ||
	    (r = proc_read_loginuid(ctx->pid, &loginuid)) < 0)
		return r;
	tc->personality = personality;
	tc->flags = ctx->stat.flags;
	tc->blk_sigset = rsys_task_sigmask(dump_leader(ctx)->task);
	tc->comm = arena_strdup(a, dump_leader(ctx)->status.name);
	tc->has_loginuid = true;
	tc->loginuid = loginuid;
	tc->has_oom_score_adj = true;
	tc->oom_score_adj = oom;
	{
		const unsigned long args[6] = {PR_GET_CHILD_SUBREAPER};

		r = remote_call_out(rm, "prctl(PR_GET_CHILD_SUBREAPER)", SYS_prctl, args, 1,
				    &subreaper, sizeof(subreaper));
	}
	if (r < 0)
		return r;
	tc->has_child_subreaper = true;
	tc->child_subreaper = subreaper != 0;
	if (!tc->comm)
		return -ENOMEM;
	if ((r = dump_sigactions(rm, &dump_leader(ctx)->status, a, tc)) < 0 ||
	    (r = dump_itimers(rm, a, tc)) < 0 ||
	    (r = dump_posix_timers(ctx, rm, a, tc->timers)) < 0 ||
	    (r = dump_rlimits(ctx, a, tc)) < 0 ||
	    (r = dump_pending(ctx->pid, true, a, &tc->signals_s)) < 0)
		return r;
	*ret = tc;
	return 0;
}

static int dump_tls(pid_t tid, struct arena *a, ThreadInfoX86 *ti)
{
	/* The three GDT TLS slots of x86 (GDT_ENTRY_TLS_MIN 12 .. 14). */
	ti->tls = arena_array(a, 3, sizeof(UserDescT *));
	if (!ti->tls)
		return -ENOMEM;
	for (unsigned idx = 12; idx <= 14; idx++) {
		struct user_desc d = {.entry_number = idx};
		UserDescT *e = ARENA_MSG(a, UserDescT, USER_DESC_T__INIT);

		if (!e)
			return -ENOMEM;
		if (ptrace(PTRACE_GET_THREAD_AREA, tid, (void *)(uintptr_t)idx, &d) < 0)
			return negative_errno();
		e->entry_number = d.entry_number;
		e->base_addr = d.base_addr;
		e->limit = d.limit;
		e->seg_32bit = d.seg_32bit;
		e->contents_h = (d.contents >> 1) & 1;
		e->contents_l = d.contents & 1;
		e->read_exec_only = d.read_exec_only;
		e->limit_in_pages = d.limit_in_pages;
		e->seg_not_present = d.seg_not_present;
		e->usable = d.useable;
		ti->tls[ti->n_tls++] = e;
	}
	return 0;
}

/*
 * CRIU writes a syscall that would restart through its restart block
 * (-ERESTART_RESTARTBLOCK: the block does not survive a checkpoint) as
 * failed with EINTR, which the kernel never returns without a signal
 * handler. Where making the same call again is what the restart does,
 * stasis restarts the call instead (the image stays one CRIU restores):
 * poll(), whose restart polls the same fds (a timeout starts again: a
 * longer wait, which a timeout allows, rather than a failure), and futex()
 * waits with a timeout (FUTEX_WAIT_BITSET's deadline is absolute, so the
 * same call is exact; FUTEX_WAIT's relative one starts again). nanosleep()
 * keeps EINTR: it wrote the remaining time to rem, as for a signal.
 */
static void restart_same_call(struct x86_regs *regs)
{
	struct user_regs_struct *r = &regs->gpr;

	if ((long)r->rax == -ERESTART_RESTARTBLOCK &&
	    (r->orig_rax == SYS_poll || r->orig_rax == SYS_futex))
		r->rax = (unsigned long long)-ERESTARTNOHAND;
}

static int dump_thread_info(struct dump_thread *t, struct arena *a, struct x86_fpu *fpu,
			    ThreadInfoX86 **ret)
{
	ThreadInfoX86 *ti = ARENA_MSG(a, ThreadInfoX86, THREAD_INFO_X86__INIT);
	UserX86RegsEntry *gp = ARENA_MSG(a, UserX86RegsEntry, USER_X86_REGS_ENTRY__INIT);
	UserX86FpregsEntry *fp = ARENA_MSG(a, UserX86FpregsEntry, USER_X86_FPREGS_ENTRY__INIT);
	UserX86XsaveEntry *xs = ARENA_MSG(a, UserX86XsaveEntry, USER_X86_XSAVE_ENTRY__INIT);
	const unsigned long args[6] = {PR_GET_TID_ADDRESS};
	int r;

	if (!ti || !gp || !fp || !xs)
		return -ENOMEM;
	struct x86_regs regs = *rsys_task_regs(t->task);

	/* As CRIU writes them: an interrupted syscall is restarted or fails with EINTR. */
	restart_same_call(&regs);
	t->restart_code = x86_regs_restart_code(&regs);
	x86_regs_criu_restart(&regs);
	x86_regs_to_core(&regs, gp);
	r = x86_fpu_get(t->tid, fpu);
	if (r < 0)
		return r;
	r = x86_fpu_to_core(fpu, fp, xs);
	if (r < 0) {
		pr_err("thread %d: the FPU state the kernel gave is malformed", t->tid);
		return r;
	}
	r = remote_call_out(&t->rm, "prctl(PR_GET_TID_ADDRESS)", SYS_prctl, args, 1,
			    &ti->clear_tid_addr, sizeof(ti->clear_tid_addr));
	if (r < 0 || (r = dump_tls(t->tid, a, ti)) < 0)
		return r;
	ti->gpregs = gp;
	ti->fpregs = fp;
	*ret = ti;
	return 0;
}

/* core-TID.img: the task part is the leader's only, as CRIU writes it. */
static int dump_thread(struct dump_ctx *ctx, struct dump_thread *t)
{
	_cleanup_arena_ struct arena a = {};
	struct x86_fpu fpu = {};
	CoreEntry core = CORE_ENTRY__INIT;
	int r;

	core.mtype = CORE_ENTRY__MARCH__X86_64;
	r = dump_thread_info(t, &a, &fpu, &core.thread_info);
	if (r >= 0 && t == dump_leader(ctx))
		r = dump_task_core(ctx, &t->rm, &a, &core.tc);
	if (r >= 0)
		r = dump_thread_core(ctx, t, &a, &core.thread_core);
	if (r >= 0)
		r = img_write_one(ctx->dir, IMG_CORE, (uint64_t)t->tid, &core.base);
	x86_fpu_done(&fpu);
	return r;
}

int dump_core(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nthreads; i++) {
		int r = dump_thread(ctx, &ctx->threads[i]);

		if (r < 0)
			return r;
	}
	return 0;
}
