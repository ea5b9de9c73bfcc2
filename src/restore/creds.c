/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Credentials, set by the task itself, last of everything that needs
 * privileges (it runs as the controller until then). The order is CRIU's:
 * groups; keep the capabilities across the uid change (securebits); uids
 * and gids; the real securebits; drop what the bounding set lacks; the
 * capability sets; ambient capabilities; no_new_privs. A task whose
 * credentials are the controller's (root, all capabilities) needs none of
 * this. Then what the change reset: dumpable, the parent-death signal.
 */
#include <linux/capability.h>
#include <linux/securebits.h>
#include <limits.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

#define CAP_WORDS 2 /* _LINUX_CAPABILITY_U32S_3 */

struct cred_set {
	uint32_t ids[8]; /* uid euid suid fsuid gid egid sgid fsgid */
	uint32_t inh[CAP_WORDS], prm[CAP_WORDS], eff[CAP_WORDS], bnd[CAP_WORDS], amb[CAP_WORDS];
	uint32_t secbits;
	uint32_t no_new_privs;
};

static int cap_last_cap(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 40;

	if (!f || fscanf(f, "%d", &last) != 1)
		return 40;
	return last;
}

static void from_image(const CredsEntry *ce, struct cred_set *s)
{
	const uint32_t ids[8] = {ce->uid, ce->euid, ce->suid, ce->fsuid,
				 ce->gid, ce->egid, ce->sgid, ce->fsgid};

	*s = (struct cred_set){.secbits = ce->secbits,
			       .no_new_privs = ce->has_no_new_privs ? ce->no_new_privs : 0};
	memcpy(s->ids, ids, sizeof(ids));
	for (size_t i = 0; i < CAP_WORDS; i++) {
		s->inh[i] = i < ce->n_cap_inh ? ce->cap_inh[i] : 0;
		s->prm[i] = i < ce->n_cap_prm ? ce->cap_prm[i] : 0;
		s->eff[i] = i < ce->n_cap_eff ? ce->cap_eff[i] : 0;
		s->bnd[i] = i < ce->n_cap_bnd ? ce->cap_bnd[i] : 0;
		s->amb[i] = i < ce->n_cap_amb ? ce->cap_amb[i] : 0;
	}
}

/* The controller's own credentials, which the task has now. */
static int from_self(struct cred_set *s, int last_cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[CAP_WORDS];
	uid_t u[3];
	gid_t g[3];

	*s = (struct cred_set){};
	if (getresuid(&u[0], &u[1], &u[2]) < 0 || getresgid(&g[0], &g[1], &g[2]) < 0 ||
	    syscall(SYS_capget, &hdr, data) < 0)
		return negative_errno();
	s->ids[0] = u[0], s->ids[1] = u[1], s->ids[2] = u[2], s->ids[3] = (uint32_t)setfsuid(-1);
	s->ids[4] = g[0], s->ids[5] = g[1], s->ids[6] = g[2], s->ids[7] = (uint32_t)setfsgid(-1);
	for (int i = 0; i < CAP_WORDS; i++) {
		s->inh[i] = data[i].inheritable;
		s->prm[i] = data[i].permitted;
		s->eff[i] = data[i].effective;
	}
	for (int cap = 0; cap <= last_cap && cap < 32 * CAP_WORDS; cap++) {
		if (prctl(PR_CAPBSET_READ, cap) == 1)
			s->bnd[cap / 32] |= 1u << (cap % 32);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			s->amb[cap / 32] |= 1u << (cap % 32);
	}
	s->secbits = (uint32_t)prctl(PR_GET_SECUREBITS);
	s->no_new_privs = (uint32_t)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	return 0;
}

static bool same_groups(const CredsEntry *ce)
{
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);

	if (n < 0 || (size_t)n != ce->n_groups)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] != ce->groups[i])
			return false;
	return true;
}

static int call(struct rst_ctx *c, long res, const char *what)
{
	if (res >= 0)
		return 0;
	rst_err(c, "restoring credentials: %s failed: %s", what, strerror((int)-res));
	return (int)res;
}

static int set_groups(struct rst_ctx *c, const CredsEntry *ce)
{
	unsigned long addr = 0;
	int r;

	if (ce->n_groups > c->scratch_size / sizeof(uint32_t)) {
		rst_err(c, "%zu supplementary groups do not fit the scratch area", ce->n_groups);
		return -E2BIG;
	}
	if (ce->n_groups) {
		r = rst_scratch_put(c, 0, ce->groups, ce->n_groups * sizeof(uint32_t), &addr);
		if (r < 0)
			return r;
	}
	return call(c, rst_sys(c, __NR_setgroups, ce->n_groups, addr), "setgroups");
}

static int set_ids(struct rst_ctx *c, const struct cred_set *s)
{
	int r;

	/* Keep the capabilities while the uids change (SECURE_NO_SETUID_FIXUP). */
	r = call(c, rst_sys(c, __NR_prctl, PR_SET_SECUREBITS, 1 << SECURE_NO_SETUID_FIXUP, 0, 0, 0),
		 "prctl(PR_SET_SECUREBITS)");
	if (r == 0)
		r = call(c, rst_sys(c, __NR_setresgid, s->ids[4], s->ids[5], s->ids[6]),
			 "setresgid");
	if (r == 0)
		r = call(c, rst_sys(c, __NR_setfsgid, s->ids[7]), "setfsgid");
	if (r == 0)
		r = call(c, rst_sys(c, __NR_setresuid, s->ids[0], s->ids[1], s->ids[2]),
			 "setresuid");
	if (r == 0)
		r = call(c, rst_sys(c, __NR_setfsuid, s->ids[3]), "setfsuid");
	if (r == 0)
		r = call(c, rst_sys(c, __NR_prctl, PR_SET_SECUREBITS, s->secbits, 0, 0, 0),
			 "prctl(PR_SET_SECUREBITS)");
	return r;
}

static int set_caps(struct rst_ctx *c, const struct cred_set *s, int last_cap)
{
	struct {
		struct __user_cap_header_struct hdr;
		struct __user_cap_data_struct data[CAP_WORDS];
	} caps = {.hdr = {.version = _LINUX_CAPABILITY_VERSION_3}};
	unsigned long addr;
	int r;

	/* The bounding set can only shrink, and only while CAP_SETPCAP is effective. */
	for (int cap = 0; cap <= last_cap && cap < 32 * CAP_WORDS; cap++)
		if (!(s->bnd[cap / 32] & (1u << (cap % 32)))) {
			r = call(c, rst_sys(c, __NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0),
				 "prctl(PR_CAPBSET_DROP)");
			if (r < 0)
				return r;
		}
	for (int i = 0; i < CAP_WORDS; i++)
		caps.data[i] = (struct __user_cap_data_struct){s->eff[i], s->prm[i], s->inh[i]};
	r = rst_scratch_put(c, 0, &caps, sizeof(caps), &addr);
	if (r < 0)
		return r;
	r = call(c, rst_sys(c, __NR_capset, addr, addr + sizeof(caps.hdr)), "capset");
	for (int cap = 0; r == 0 && cap <= last_cap && cap < 32 * CAP_WORDS; cap++)
		if (s->amb[cap / 32] & (1u << (cap % 32)))
			r = call(c,
				 rst_sys(c, __NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap,
					 0, 0),
				 "prctl(PR_CAP_AMBIENT_RAISE)");
	if (r == 0 && s->no_new_privs)
		r = call(c, rst_sys(c, __NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
			 "prctl(PR_SET_NO_NEW_PRIVS)");
	return r;
}

/*
 * What a change of ids or capabilities resets (commit_creds()), set after
 * them: the dumpable flag, and the parent-death signal, which also replaces
 * the SIGKILL the new task took until the controller seized it.
 */
static int set_after_creds(struct rst_ctx *c)
{
	const MmEntry *mm = c->img.mm;
	const ThreadCoreEntry *tc = c->img.core->thread_core;
	int r = 0;

	if (mm->has_dumpable)
		r = call(c, rst_sys(c, __NR_prctl, PR_SET_DUMPABLE, mm->dumpable, 0, 0, 0),
			 "prctl(PR_SET_DUMPABLE)");
	if (r == 0)
		r = call(c,
			 rst_sys(c, __NR_prctl, PR_SET_PDEATHSIG,
				 tc->has_pdeath_sig ? tc->pdeath_sig : 0, 0, 0, 0),
			 "prctl(PR_SET_PDEATHSIG)");
	return r;
}

int rst_creds(struct rst_ctx *c)
{
	const CredsEntry *ce = c->img.core->thread_core->creds;
	struct cred_set want, have;
	int last_cap = cap_last_cap(), r;

	if (!ce)
		return set_after_creds(c);
	from_image(ce, &want);
	r = from_self(&have, last_cap);
	if (r < 0) {
		rst_err(c, "cannot read the controller's credentials: %s", strerror(-r));
		return r;
	}
	if (memcmp(&want, &have, sizeof(want)) == 0 && same_groups(ce))
		return set_after_creds(c);
	rst_info(c, "restoring credentials uid %u gid %u", want.ids[0], want.ids[4]);
	r = set_groups(c, ce);
	if (r == 0)
		r = set_ids(c, &want);
	if (r == 0)
		r = set_caps(c, &want, last_cap);
	if (r == 0)
		r = set_after_creds(c);
	return r;
}
